"""Training jobs (``train/{id}``): a strategy policy trained off the loop in checkpointed
chunks, paused, resumed, cancelled, resumed after a crash from its last checkpoint, then
evaluated and registered.  The torch work is ``training``'s."""
from .behavior import TrainKind

__all__ = ["TrainKind"]
