"""Linux primitives for the Python-check sandbox (stdlib + ctypes only; loaded by ``sandbox_child.py`` by path).

Every function raises ``SandboxError`` naming the step that the kernel refused, so the caller can fail
closed with one clear message instead of running the check less isolated than promised.
"""

import ctypes
import errno
import os
import re

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
#: Every namespace the check gets its own copy of, with the names reported in the outcome.
NAMESPACES = {
    "user": CLONE_NEWUSER,
    "mount": CLONE_NEWNS,
    "pid": CLONE_NEWPID,
    "net": CLONE_NEWNET,
    "ipc": CLONE_NEWIPC,
    "uts": CLONE_NEWUTS,
    "cgroup": CLONE_NEWCGROUP,
}

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21
MNT_DETACH = 2
#: statvfs flags a read-only remount must repeat (the kernel locks them on mounts inherited from the host).
_LOCKED_FLAGS = (
    (os.ST_NOEXEC, MS_NOEXEC),
    (os.ST_NOATIME, MS_NOATIME),
    (os.ST_NODIRATIME, MS_NODIRATIME),
    (os.ST_RELATIME, MS_RELATIME),
)

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_SECUREBITS = 28
PR_SET_NO_NEW_PRIVS = 38
#: SECBIT_NOROOT (+locked), SECBIT_NO_SETUID_FIXUP locked off, SECBIT_KEEP_CAPS locked off,
#: SECBIT_NO_CAP_AMBIENT_RAISE (+locked): no way back to capabilities through uid 0 or exec.
_SECUREBITS = 0x01 | 0x02 | 0x08 | 0x20 | 0x40 | 0x80
_CAP_VERSION_3 = 0x20080522

#: Syscall numbers by machine (from the kernel's unistd_64.h / asm-generic/unistd.h): pivot_root, and the
#: calls a check never needs that reach outside it or widen the kernel's attack surface (io_uring, bpf,
#: perf, userfaultfd, keyrings, ptrace and cross-process memory, modules, mounts, namespaces, handles...),
#: or hold memory outside the address-space limit (memfd, System V shared memory and message queues).
SYSCALLS = {
    "x86_64": {
        "pivot_root": 155,
        "io_uring_setup": 425,
        "io_uring_enter": 426,
        "io_uring_register": 427,
        "bpf": 321,
        "perf_event_open": 298,
        "userfaultfd": 323,
        "keyctl": 250,
        "add_key": 248,
        "request_key": 249,
        "ptrace": 101,
        "process_vm_readv": 310,
        "process_vm_writev": 311,
        "kexec_load": 246,
        "kexec_file_load": 320,
        "init_module": 175,
        "finit_module": 313,
        "delete_module": 176,
        "acct": 163,
        "swapon": 167,
        "swapoff": 168,
        "reboot": 169,
        "personality": 135,
        "mount": 165,
        "umount2": 166,
        "unshare": 272,
        "setns": 308,
        "open_by_handle_at": 304,
        "name_to_handle_at": 303,
        "fanotify_init": 300,
        "lookup_dcookie": 212,
        "syslog": 103,
        "vhangup": 153,
        "quotactl": 179,
        "chroot": 161,
        "open_tree": 428,
        "move_mount": 429,
        "fsopen": 430,
        "fsconfig": 431,
        "fsmount": 432,
        "fspick": 433,
        "mount_setattr": 442,
        "quotactl_fd": 443,
        "memfd_create": 319,
        "memfd_secret": 447,
        "shmget": 29,
        "msgget": 68,
    },
    "aarch64": {
        "pivot_root": 41,
        "io_uring_setup": 425,
        "io_uring_enter": 426,
        "io_uring_register": 427,
        "bpf": 280,
        "perf_event_open": 241,
        "userfaultfd": 282,
        "keyctl": 219,
        "add_key": 217,
        "request_key": 218,
        "ptrace": 117,
        "process_vm_readv": 270,
        "process_vm_writev": 271,
        "kexec_load": 104,
        "kexec_file_load": 294,
        "init_module": 105,
        "finit_module": 273,
        "delete_module": 106,
        "acct": 89,
        "swapon": 224,
        "swapoff": 225,
        "reboot": 142,
        "personality": 92,
        "mount": 40,
        "umount2": 39,
        "unshare": 97,
        "setns": 268,
        "open_by_handle_at": 265,
        "name_to_handle_at": 264,
        "fanotify_init": 262,
        "lookup_dcookie": 18,
        "syslog": 116,
        "vhangup": 58,
        "quotactl": 60,
        "chroot": 51,
        "open_tree": 428,
        "move_mount": 429,
        "fsopen": 430,
        "fsconfig": 431,
        "fsmount": 432,
        "fspick": 433,
        "mount_setattr": 442,
        "quotactl_fd": 443,
        "memfd_create": 279,
        "memfd_secret": 447,
        "shmget": 194,
        "msgget": 186,
    },
}
_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_X32_BIT = 0x40000000  # x86_64's x32 ABI: same audit arch, numbers with this bit set; refused wholesale
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
_RET_KILL_PROCESS, _RET_ERRNO, _RET_ALLOW = 0x80000000, 0x00050000, 0x7FFF0000
_LD_ABS_W, _JEQ_K, _JGE_K, _RET_K = 0x20, 0x15, 0x35, 0x06


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


_libc = ctypes.CDLL(None, use_errno=True)


class SandboxError(RuntimeError):
    """The kernel refused a step of the isolation; the check must not run."""


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise SandboxError(f"{what} failed: {errno.errorcode.get(code, code)} ({os.strerror(code)})")


def _b(path) -> bytes:
    return os.fsencode(path)


def _syscalls() -> dict[str, int]:
    machine = os.uname().machine
    if machine not in SYSCALLS:
        raise SandboxError(f"unsupported architecture {machine} (the sandbox knows x86_64 and aarch64)")
    return SYSCALLS[machine]


def unshare(flags: int) -> None:
    _check(
        _libc.unshare(ctypes.c_int(flags)), "unshare(" + "|".join(n for n, f in NAMESPACES.items() if f & flags) + ")"
    )


def prctl(option: int, arg: int, what: str) -> None:
    _check(_libc.prctl(ctypes.c_int(option), ctypes.c_ulong(arg), 0, 0, 0), what)


def mount(source, target, fstype, flags: int, data: str | None = None) -> None:
    _check(
        _libc.mount(
            None if source is None else _b(source),
            _b(target),
            None if fstype is None else fstype.encode(),
            ctypes.c_ulong(flags),
            None if data is None else data.encode(),
        ),
        f"mount {fstype or 'bind'} on {target}",
    )


def bind(source_fd: int, target: str) -> None:
    """Bind the file or tree open as ``source_fd`` (an O_PATH descriptor) onto ``target``."""
    mount(f"/proc/self/fd/{source_fd}", target, None, MS_BIND | MS_REC)


def remount_readonly(target: str, devices: bool = False) -> None:
    """Make the mount at ``target`` read-only, nosuid and (unless ``devices``) nodev, keeping the flags
    the kernel locked on it."""
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | (0 if devices else MS_NODEV)
    have = os.statvfs(target).f_flag
    flags |= sum(ms for st, ms in _LOCKED_FLAGS if have & st)
    mount(None, target, None, flags)


def pivot_into(new_root: str) -> None:
    """Make ``new_root`` the root of this mount namespace and detach the host's root from it."""
    os.chdir(new_root)
    _check(_libc.syscall(ctypes.c_long(_syscalls()["pivot_root"]), b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", ctypes.c_int(MNT_DETACH)), "detaching the host root")
    os.chdir("/")


def mount_points() -> list[str]:
    """Every mount point of this mount namespace, as /proc/self/mountinfo lists them."""
    with open("/proc/self/mountinfo", "rb") as handle:
        fields = [line.split(b" ")[4] for line in handle]
    return [os.fsdecode(re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m[1], 8)]), f)) for f in fields]


def sethostname(name: str) -> None:
    _check(_libc.sethostname(name.encode(), ctypes.c_size_t(len(name))), "sethostname")


def drop_all_capabilities(last_cap: int) -> None:
    """Lock the securebits, empty the bounding set, then clear every capability set; set no_new_privs."""
    prctl(PR_SET_SECUREBITS, _SECUREBITS, "locking securebits")
    for cap in range(last_cap + 1):
        prctl(PR_CAPBSET_DROP, cap, f"dropping capability {cap} from the bounding set")
    header = (ctypes.c_uint32 * 2)(_CAP_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # two (effective, permitted, inheritable) triples, all zero
    _check(_libc.capset(header, data), "capset (dropping capabilities)")
    prctl(PR_SET_NO_NEW_PRIVS, 1, "setting no_new_privs")


def deny_syscalls() -> None:
    """Install a seccomp filter: every call in this machine's ``SYSCALLS`` (pivot_root included) and every
    x32 call fails with EPERM; a call from another architecture kills the process. Needs no_new_privs."""
    machine = os.uname().machine
    denied = sorted(set(_syscalls().values()))
    errno_ret = len(denied) + 6  # index of the EPERM return below
    program = [
        (_LD_ABS_W, 0, 0, 4),  # seccomp_data.arch
        (_JEQ_K, 1, 0, _AUDIT_ARCH[machine]),
        (_RET_K, 0, 0, _RET_KILL_PROCESS),
        (_LD_ABS_W, 0, 0, 0),  # seccomp_data.nr
        (_JGE_K, errno_ret - 5, 0, _X32_BIT) if machine == "x86_64" else (_JEQ_K, 0, 0, 0xFFFFFFFF),
    ]
    program += [(_JEQ_K, errno_ret - (5 + i) - 1, 0, nr) for i, nr in enumerate(denied)]
    program += [(_RET_K, 0, 0, _RET_ALLOW), (_RET_K, 0, 0, _RET_ERRNO | errno.EPERM)]
    filters = (_SockFilter * len(program))(*program)
    fprog = _SockFprog(len(program), filters)
    _check(
        _libc.prctl(ctypes.c_int(PR_SET_SECCOMP), ctypes.c_ulong(SECCOMP_MODE_FILTER), ctypes.byref(fprog), 0, 0),
        "installing the seccomp filter",
    )
