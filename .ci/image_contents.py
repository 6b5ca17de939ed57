"""What the final image must not contain; run inside it by .ci/image_check.py.

Runs as the image's own user with the image's Python (its text is passed to
`python -c`) and prints one JSON object: the uid, and whatever was found that should
not be there, by kind. Only the standard library: the image has nothing else to spare.
"""

import importlib.util
import json
import os
import shutil
import sysconfig


def files_under(top: str) -> list[str]:
    return [os.path.join(d, f) for d, _, names in os.walk(top) for f in names]


def existing(*paths: str) -> list[str]:
    return [p for p in paths if os.path.exists(p)]


service = os.path.join(sysconfig.get_paths()["purelib"], "service")
found = {
    "tests or benchmarks in /app": existing("/app/tests", "/app/bench"),
    "test files in the service package": [
        p for p in files_under(service) if os.path.basename(p).startswith(("test_", "conftest"))
    ],
    "test suites in the virtualenv": [
        os.path.join(d, n) for d, dirs, _ in os.walk("/venv") for n in dirs if n == "tests"
    ],
    "compilers": [c for c in ("cc", "gcc", "g++", "c++", "clang", "make") if shutil.which(c)],
    "pip or build tools": [
        m for m in ("pip", "setuptools", "wheel") if importlib.util.find_spec(m)
    ],
    "pip caches": existing("/root/.cache", "/app/.cache"),
    "wheels": [
        p for top in ("/venv", "/app", "/root") for p in files_under(top) if p.endswith(".whl")
    ],
    "the build stage's source tree": existing("/src"),
    "a non-empty build CA mount point": [
        p for p in existing("/run/build-ca.crt") if os.path.getsize(p) > 0
    ],
}
print(json.dumps({"uid": os.getuid(), "found": {k: v for k, v in found.items() if v}}))
