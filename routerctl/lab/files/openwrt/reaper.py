# PID 1 of a release router's PID namespace (the lab has no procd): reaps orphans, so a
# stopped daemon does not linger as a zombie that pidof still finds; exits on SIGTERM.
import os
import signal

signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD, signal.SIGTERM})
while True:
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                break
        except ChildProcessError:
            break
    if signal.sigwaitinfo({signal.SIGCHLD, signal.SIGTERM}).si_signo == signal.SIGTERM:
        raise SystemExit(0)
