"""Reference for bench.py: `python3 main.py` without the fork, run in a project checkout.

main.py synthesizes cdk.tf.json in a forked child while it checks users.json (parallel.py),
so its wall time hides the per-user work up to a few thousand users, and its CPU time
grows where the two overlap on a 2-core machine. This runs the same code one step after
the other (the path in-process callers and platforms without os.fork take), so the cost of
each added user shows whole, free of that overlap.
"""

import os
import sys

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")

from users_authentik.cli import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
