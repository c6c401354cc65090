"""Run ``cbx-exportd`` recording every module imported for the first time outside the main
thread (an audit hook on the ``import`` event): ``python3 importwatch.py OUT daemon-args...``.

Each such import is one line ``<thread name> <module>`` appended to ``OUT`` (os.write on a
descriptor opened before: no audit recursion, nothing lost at ``os._exit``).
"""

import os
import runpy
import sys
import threading


def main():
    out = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    main_thread = threading.main_thread()

    def hook(event, args):
        if event == 'import':
            t = threading.current_thread()
            if t is not main_thread:
                os.write(out, ('%s %s\n' % (t.name, args[0])).encode())

    sys.addaudithook(hook)
    sys.argv = ['cbx-exportd'] + sys.argv[2:]
    runpy.run_module('pycstbox.export.daemon', run_name='__main__', alter_sys=True)


if __name__ == '__main__':
    main()
