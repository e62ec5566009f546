#!/usr/bin/env python3
"""users-authentik: `python3 main.py` turns ./users.json into ./generated/ (see README).

This is also the app `cdktf synth` runs (cdktf.json), so both produce the same files.
"""

import os
import sys

# jsii prints an end-of-life banner on old Node majors (a comma-separated list silences
# them); it would otherwise land in every pre-commit run.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
# The project's code lives in constructs/users_authentik; constructs/ has no __init__.py,
# so putting it on the path never shadows the `constructs` library.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "constructs"))

if __name__ == "__main__":
    from users_authentik import parallel

    # First thing: fork the synth of cdk.tf.json (Node, jsii and cdktf: most of a run, and
    # it needs settings.json only) so that it runs while this process checks users.json.
    child = parallel.start(sys.argv[1:], os.getcwd())
    from users_authentik.cli import main

    sys.exit(main(child=child))
