"""One Textual Screen or ModalScreen a file."""
