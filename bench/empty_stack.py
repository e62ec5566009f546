"""Reference for bench.py: the fixed cost of CDKTF from Python, with nothing in it.

Starts Python, imports cdktf (which starts Node and the jsii kernel and loads the
constructs and cdktf assemblies), builds an empty TerraformStack and synthesizes it
into ./cdktf.out. No project code, no input: the floor every synth pays.
"""

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")

from cdktf import App, TerraformStack  # noqa: E402

app = App(outdir="cdktf.out")
TerraformStack(app, "empty")
app.synth()
