"""routerctl inside other tools, built on ``routerctl.api``: ``nornir`` (the optional
extra ``routerctl[nornir]``). The core never imports these modules."""
