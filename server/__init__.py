"""The edges of Everturn: HTTP, the websocket, auth, shards and the command line."""
import sys

# httpx imports its own command-line client (click, rich and pygments: 5 MB in every process)
# whenever those are installed; no Everturn process runs it. A None entry makes that import
# fail, which httpx expects of a lean install.
sys.modules.setdefault("httpx._main", None)
