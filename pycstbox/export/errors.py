"""The one exception tree of cstbox-export.

::

    Exception
     +-- ExportError(msg, subcode=0)      seed API; subcode kept modulo 100
          +-- ConfigError                  bad configuration: exit 2, one line naming file and key
          +-- EventStoreError              event store unreachable, timed out or answered nonsense
          |                                (temporary: the window stays pending)
          +-- TransportError               an upload or a check failed
          |    +-- TemporaryError          refused, timeout, reset, DNS, 5xx, 429, full disk...
          |    |                           retried at the next slot; ``retry_after`` seconds if known
          |    +-- PermanentError          401/403/404/413, bad credentials, bad path, unknown host key...
          |                                a person must act; by ``scope``:
          |                                 'file' (default): this file was refused (413, 400
          |                                   on the content, a name refused): dead-lettered;
          |                                 'target': the target itself refuses (401/403, S3
          |                                   InvalidAccessKeyId, SignatureDoesNotMatch,
          |                                   AccessDenied, NoSuchBucket, FTP/SFTP login, host
          |                                   key, TLS verification): the target is HELD
          |                                   (process/hold.py): its files and windows wait,
          |                                   probed again with a backoff
          +-- BacklogError                 the backlog cannot be used (unusable directory, disk full)
          +-- BudgetWait                   the target's byte budget is used up for this period:
          |                                the upload waits for the next one (never a failure)
          +-- LockError                    another run holds ``state_dir/lock``: exit 3

Every error carries ``temporary`` (class attribute, may be overridden per
instance): True means "keep the job pending and try again later", False means
"dead-letter it and tell a person".  Library errors are translated once, where
they happen (one place per transport, one in the event store client), always
with ``raise ... from exc`` so the original traceback is kept for the logs.
Messages are meant for a technician: they say what failed, on which target,
why, and what can be done.  They never contain a secret.
"""


class ExportError(Exception):
    """Base of every error of the package (seed API).

    :param str msg: the message
    :param int subcode: a finer code added to the step's ``ERR_*`` code (0..99)
    """

    temporary = True

    def __init__(self, msg, subcode=0, temporary=None):
        Exception.__init__(self, msg)
        self._subcode = int(subcode) % 100
        if temporary is not None:
            self.temporary = bool(temporary)

    @property
    def subcode(self):
        return self._subcode


class ConfigError(ExportError):
    """The configuration is invalid; the message names the file and the key."""

    temporary = False

    def __init__(self, msg, path=None, key=None):
        where = ': '.join(str(p) for p in (path, key) if p)
        ExportError.__init__(self, '%s: %s' % (where, msg) if where else msg)
        self.path = path
        self.key = key


class EventStoreError(ExportError):
    """The event store could not be read (temporary: retried at the next slot)."""

    temporary = True


class TransportError(ExportError):
    """An upload, a login or a check failed on a target.

    ``scope``: 'file' (this file or window was refused) or 'target' (the target
    refuses everything until a person acts: its work is held, not dead-lettered).
    """

    scope = 'file'

    def __init__(self, msg, subcode=0, target=None, retry_after=None, temporary=None,
                 scope=None):
        ExportError.__init__(self, msg, subcode, temporary)
        self.target = target
        self.retry_after = retry_after
        if scope is not None:
            self.scope = scope


class TemporaryError(TransportError):
    """Worth retrying later: the job stays pending."""

    temporary = True


class PermanentError(TransportError):
    """Retrying will not help: the job is dead-lettered with this reason."""

    temporary = False


class BacklogError(ExportError):
    """The backlog (or the state directory) cannot be used."""

    temporary = True


class BudgetWait(ExportError):
    """The target's byte budget cannot carry this upload now: it waits (pending, not failed)."""

    temporary = True
    retry_after = 86400          # never an immediate retry (EventsExportJob.run)
    log_level = 20               # logging.INFO: waiting is the budget working, not an error


class LockError(ExportError):
    """Another run holds the lock."""

    temporary = True

    def __init__(self, msg, holder=None):
        ExportError.__init__(self, msg)
        self.holder = holder
