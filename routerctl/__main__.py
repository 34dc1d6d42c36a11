from routerctl.cli import run

run()
