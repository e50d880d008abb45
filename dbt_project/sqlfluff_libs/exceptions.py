"""`exceptions` for sqlfluff's jinja templater."""


def raise_compiler_error(message):
    raise RuntimeError(message)
