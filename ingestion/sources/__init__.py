"""dlt sources, one self-contained module per source system.

`api` holds the one HTTP mechanism every API source shares (auth, retries, errors);
`records` the one place that coerces API values into the declared raw column types.
"""
