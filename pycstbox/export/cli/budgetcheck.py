"""The lines ``cbx-export check`` prints about compression libraries, budgets and NetworkManager.

``check_lines(config, now, metered=None) -> (ok, lines)``: a job with ``compress = "zstd"``
without python3-zstandard fails the check (its windows would stay pending); each target
with a byte budget gets one line (used and left in the current period); when any budget
depends on ``budget_when = "metered"``, one line says what NetworkManager answers (read
on ``[network] bus``), and what "unknown" means: the budget applies.
"""


def check_lines(config, now, metered=None):
    from pycstbox.export.formats.compression import zstd_missing
    from pycstbox.export.process.budget import default_metered, status
    from pycstbox.export.process.runtime import runtime_dir
    ok, lines = True, []
    for name, job in sorted(config.jobs.items()):
        if job.compress == 'zstd' and zstd_missing():
            ok = False
            lines.append('job %s: FAILED: %s' % (name, zstd_missing()))
    budgets = status(config, runtime_dir(config), now)
    for name, b in budgets.items():
        lines.append('budget %s: %s%s, %s: %d bytes used, %d left%s' % (
            name, b['budget'], ' while metered' if b['when'] == 'metered' else '', b['period'],
            b['used'], b['left'], ', %d window(s) and %d file(s) wait for the next %s'
            % (b['deferred_windows'], b['deferred_files'], b['per'])
            if b['waiting_need'] else ''))
    if any(b['when'] == 'metered' for b in budgets.values()):
        answer = (metered or default_metered(config.network.bus))()
        lines.append('network: NetworkManager says metered = %s on %s: budgets with '
                     'budget_when = "metered" %s' % (
                         answer.text, config.network.bus or 'the system bus',
                         'apply' if answer.metered else 'do not apply now'
                         ) + (' (unknown counts as metered)' if answer.value == 0 else ''))
    return ok, lines
