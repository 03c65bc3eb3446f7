"""Import each named module alone, each in its own forked child of a process that has
loaded the third-party libraries but nothing of relaypacs: an import that works only
because another relaypacs module happened to be imported first fails here.

Usage: python import_each.py MODULE... ; prints one `FAIL module` block per failure.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback

# Third-party only: the children pay for their own relaypacs imports, nothing more.
for library in ("fastapi", "sqlalchemy.ext.asyncio", "pydantic", "pydicom", "httpx", "anyio"):
    importlib.import_module(library)
assert not any(name.startswith("relaypacs") for name in sys.modules)


def main(modules: list[str]) -> int:
    failed = 0
    for module in modules:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: import, report, exit without running atexit hooks
            os.close(read)
            try:
                importlib.import_module(module)
                code = 0
            except BaseException:  # noqa: BLE001 - reported to the parent
                os.write(write, traceback.format_exc().encode()[-4000:])
                code = 1
            os._exit(code)
        os.close(write)
        with os.fdopen(read, "rb") as pipe:
            error = pipe.read().decode(errors="replace")
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            failed += 1
            print(f"FAIL {module}\n{error}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
