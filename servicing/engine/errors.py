class RuleError(ValueError):
    """A servicing rule refuses the input. `field` names what was wrong, the message says the rule."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message
