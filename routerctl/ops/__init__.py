"""Operations on routers: the only layer given a ``Transport``.

``gather`` (the one-exec state script), ``probe`` (services from the router or locally),
``suite`` (install/enable the routing suite), ``provision``, ``verify`` (``run_verify``),
``healthcheck``, ``bundle`` and ``flaps``. Pure work (render, plan, checks, parsing) is
below; the CLI above only parses arguments, calls one of these and prints.
"""
