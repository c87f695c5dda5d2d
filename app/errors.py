"""Errors shared by the command-line front end."""


class UserInputError(Exception):
    """Invalid input from the user. The CLI prints the message on one line and exits with status 2."""
