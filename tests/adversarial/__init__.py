"""Attacks and their expected answers, one module per surface.

Each test is one attack a hostile user or a careless operator could make, named by what it tries
and asserting the answer the store must give: a 4xx or exit 2 naming what and where, nothing
written, no secret in any output, no file readable by other users, no key that outlives its
retirement. Read the test names top to bottom as the list of attacks this store withstands.
"""
