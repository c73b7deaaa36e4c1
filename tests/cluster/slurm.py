"""A throw-away single-node SLURM cluster on this machine (Debian's slurm-wlm + munge), as root.

Everything lives in one temp dir: the munge key and socket, slurm.conf, state, spool, logs and a
jobcomp/filetxt log. The daemons talk over 127.0.0.1 on free high ports; clients find the cluster
through ``SLURM_CONF`` (see :attr:`SlurmCluster.env`). Plugins need no cgroups:
``proctrack/linuxproc``, ``task/none``, ``select/cons_tres`` by CPU.

Accounting: ``accounting_storage/none`` (slurmdbd would need a MariaDB server), so plain ``sacct``
has nothing; jobs finished are recorded by ``jobcomp/filetxt`` and read with ``sacct --completion``
(:meth:`SlurmCluster.sacct`). submitit's own ``sacct`` calls then fail; it waits on its result
files instead (it logs "Bypassing sacct error").

Run by hand: ``python tests/cluster/slurm.py`` starts it, prints the SLURM_CONF to export, and
stops it on Enter.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

DAEMONS = ("slurmctld", "slurmd", "munged")
NODE = "rcnode"


class SlurmUnavailable(RuntimeError):
    """This machine cannot run the cluster (the message says why)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _memory_mb() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20


def ensure_installed() -> None:
    """Install slurm-wlm and munge with apt-get when a daemon is missing (root only)."""
    missing = [
        d for d in DAEMONS if shutil.which(d) is None and not Path(f"/usr/sbin/{d}").exists()
    ]
    if not missing:
        return
    if os.geteuid() != 0:
        raise SlurmUnavailable(f"{missing} not installed and not root to apt-get install them")
    if shutil.which("apt-get") is None:
        raise SlurmUnavailable(f"{missing} not installed and no apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "slurm-wlm", "munge"],
    ):
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
        if done.returncode != 0:
            raise SlurmUnavailable(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")


def _conf(work: Path, ports: tuple[int, int], cpus: int, mem_mb: int) -> str:
    host = socket.gethostname().split(".")[0]
    lines = {
        "ClusterName": "respicast",
        "SlurmctldHost": f"{host}(127.0.0.1)",
        "SlurmctldPort": ports[0],
        "SlurmdPort": ports[1],
        "SlurmUser": "root",
        "SlurmdUser": "root",
        "AuthType": "auth/munge",
        "CredType": "cred/munge",
        "AuthInfo": f"socket={work / 'munge.socket'}",
        "StateSaveLocation": work / "state",
        "SlurmdSpoolDir": work / "spool",
        "SlurmctldPidFile": work / "slurmctld.pid",
        "SlurmdPidFile": work / "slurmd.pid",
        "SlurmctldLogFile": work / "slurmctld.log",
        "SlurmdLogFile": work / "slurmd.log",
        "ProctrackType": "proctrack/linuxproc",
        "TaskPlugin": "task/none",
        "SelectType": "select/cons_tres",
        "SelectTypeParameters": "CR_CPU",
        "JobAcctGatherType": "jobacct_gather/none",
        "AccountingStorageType": "accounting_storage/none",
        "JobCompType": "jobcomp/filetxt",
        "JobCompLoc": work / "jobcomp.txt",
        "MpiDefault": "none",
        "ReturnToService": 2,
        "SchedulerType": "sched/backfill",
        # short waits: tests requeue and cancel jobs
        "KillWait": 2,
        "MinJobAge": 600,
        "SlurmctldTimeout": 30,
        "SlurmdTimeout": 60,
    }
    text = "".join(f"{k}={v}\n" for k, v in lines.items())
    text += (
        f"NodeName={NODE} NodeHostname={host} NodeAddr=127.0.0.1 CPUs={cpus} "
        f"RealMemory={mem_mb} State=UNKNOWN\n"
        f"PartitionName=debug Nodes={NODE} Default=YES MaxTime=INFINITE State=UP\n"
    )
    return text


class SlurmCluster:
    """Start with :meth:`start`, stop with :meth:`stop` (or use :func:`slurm_cluster`)."""

    def __init__(self, work: Path, cpus: int | None = None, mem_mb: int | None = None) -> None:
        self.work = work
        self.cpus = cpus or os.cpu_count() or 1
        # a node declaring more memory than it has is drained by slurmctld ("Low RealMemory")
        self.mem_mb = mem_mb or min(4096, _memory_mb() * 3 // 4)
        self.conf = work / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}

    def _run(self, *cmd: str, check: bool = True, timeout: float = 60) -> str:
        done = subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=timeout)
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
        return done.stdout

    def logs(self) -> str:
        parts = []
        for name in ("munged.log", "slurmctld.log", "slurmd.log"):
            f = self.work / name
            text = f.read_text(errors="replace")[-3000:] if f.exists() else "(none)"
            parts.append(f"--- {name}\n{text}")
        return "\n".join(parts)

    def _start_munge(self) -> None:
        key = self.work / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        self._run(
            "munged",
            "--force",
            f"--key-file={key}",
            f"--socket={self.work / 'munge.socket'}",
            f"--pid-file={self.work / 'munged.pid'}",
            f"--log-file={self.work / 'munged.log'}",
            f"--seed-file={self.work / 'munged.seed'}",
        )

    def start(self, timeout: float = 60) -> None:
        for sub in ("state", "spool"):
            (self.work / sub).mkdir(parents=True, exist_ok=True)
        self.conf.write_text(_conf(self.work, (_free_port(), _free_port()), self.cpus, self.mem_mb))
        self._start_munge()
        self._run("slurmctld", "-c", "-f", str(self.conf))  # -c: no state from an older run
        self._run("slurmd", "-f", str(self.conf), "-N", NODE)
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            state = self._run("sinfo", "-h", "-N", "-o", "%T", check=False).strip()
            if state in ("idle", "mixed", "allocated"):
                return
            if not self._alive("slurmd"):
                raise SlurmUnavailable(f"slurmd exited at start-up:\n{self.logs()}")
            time.sleep(1)
        raise SlurmUnavailable(
            f"node not idle after {timeout:.0f} s (sinfo: {state!r}):\n{self.logs()}"
        )

    def _pid(self, daemon: str) -> int | None:
        f = self.work / f"{daemon}.pid"
        try:
            return int(f.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _alive(self, daemon: str) -> bool:
        pid = self._pid(daemon)
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    def stop(self, timeout: float = 30) -> None:
        """scontrol shutdown (slurmctld and slurmd), then our munged by its pid; wait for them."""
        self._run("scancel", "--full", "--user=root", check=False)
        self._run("scontrol", "shutdown", check=False)
        deadline = time.monotonic() + timeout
        while any(self._alive(d) for d in ("slurmctld", "slurmd")) and time.monotonic() < deadline:
            time.sleep(0.5)
        for daemon in ("slurmd", "slurmctld", "munged"):  # ours only: pids from our pid files
            pid = self._pid(daemon)
            if pid is not None and self._alive(daemon):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, 15)
        # munged writes its seed file on the way out: wait, so the temp dir can be removed
        deadline = time.monotonic() + 10
        while self._alive("munged") and time.monotonic() < deadline:
            time.sleep(0.2)

    def sacct(self, *args: str) -> list[dict[str, str]]:
        """Finished jobs from the jobcomp/filetxt log (``sacct --completion``), as dicts.

        Slurm 22.05's ``sacct --completion`` reads only raw job ids from that log (it stops at
        the array fields with "Unknown type ArrayJobId"): :meth:`jobcomp` maps them to tasks."""
        fields = "JobIDRaw,JobName,State,NodeList"
        out = self._run("sacct", "--completion", "-n", "-P", "-o", fields, *args)
        names = fields.split(",")
        return [dict(zip(names, line.split("|"), strict=True)) for line in out.splitlines() if line]

    def jobcomp(self) -> list[dict[str, str]]:
        """The jobcomp/filetxt records (one per job end, a requeue included): Key=Value fields."""
        f = self.work / "jobcomp.txt"
        lines = f.read_text().splitlines() if f.exists() else []
        return [dict(re.findall(r"(\w+)=(\S*)", line)) for line in lines if line.strip()]

    def squeue(self) -> list[dict[str, str]]:
        out = self._run("squeue", "-h", "-r", "-o", "%i|%F|%K|%T|%j")
        names = ("JobID", "ArrayJobID", "ArrayTaskID", "State", "Name")
        return [dict(zip(names, line.split("|"), strict=True)) for line in out.splitlines() if line]


@contextlib.contextmanager
def slurm_cluster(cpus: int | None = None) -> Iterator[SlurmCluster]:
    """Install if needed, start, yield, then stop and remove everything."""
    if os.geteuid() != 0:
        raise SlurmUnavailable("the single-node cluster runs its daemons as root")
    ensure_installed()
    work = Path(tempfile.mkdtemp(prefix="rc-slurm-"))  # short: unix socket paths are limited
    cluster = SlurmCluster(work, cpus=cpus)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    with slurm_cluster() as c:
        print(f"export SLURM_CONF={c.conf}")
        input("cluster up; Enter stops it ")
