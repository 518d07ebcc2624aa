"""The NiceGUI frontend (table view and operator console); built by issue 5."""
