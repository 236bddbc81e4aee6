"""A throw-away single-node Slurm for tests: munged, slurmctld and slurmd on this host, run as root,
every file (key, config, state, spool, logs, job-completion records) inside one temporary folder,
removed when the daemons have stopped (the error messages carry the daemons' last log lines).

Accounting: no slurmdbd (it needs a MySQL server); finished jobs are recorded by jobcomp/filetxt,
which is what `sacct --completion` reads. Slurm 22.05's sacct cannot parse the array fields of
those records, so `records()` reads the file itself and `sacct_states()` gives sacct's view by job id.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time

SBIN = os.pathsep.join(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "scancel", "sacct", "sinfo", "munge")
ACTIVE = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING"}


class SlurmSetupError(RuntimeError):
    """The local Slurm could not be started; the message holds the daemons' last log lines."""


def missing_programs():
    """Slurm/munge programs not installed (Debian: apt-get install slurm-wlm munge)."""
    path = os.environ.get("PATH", "") + os.pathsep + SBIN
    return [p for p in DAEMONS + CLIENTS if not shutil.which(p, path=path)]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path, n=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return "(no log)\n"


class LocalSlurm:
    """Start with `with LocalSlurm() as slurm:`; leaving the block cancels every job and stops
    the three daemons (SIGTERM, then SIGKILL after a timeout), also when the test failed."""

    NODE = "hopgen-node"

    def __init__(self, cpus=4, memory_mb=2000):
        # A short private folder: slurmstepd's Unix sockets live in the spool folder, and a socket
        # path may not exceed 108 bytes (pytest's tmp_path under xdist is too long).
        self.root = tempfile.mkdtemp(prefix="hopgen-slurm-")
        self.cpus, self.memory_mb = cpus, memory_mb
        self.conf = os.path.join(self.root, "slurm.conf")
        self.jobcomp = os.path.join(self.root, "jobcomp.txt")
        self.logs = os.path.join(self.root, "log")
        self.procs = {}
        self.env = dict(os.environ, SLURM_CONF=self.conf, PATH=os.environ.get("PATH", "") + os.pathsep + SBIN)

    # ---- setup --------------------------------------------------------------------------------

    def _write_files(self):
        for d in ("munge", "state", "spool", "log"):
            os.makedirs(os.path.join(self.root, d), exist_ok=True)
        os.chmod(os.path.join(self.root, "munge"), 0o700)
        key = os.path.join(self.root, "munge", "munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o400)
        self.munge_socket = os.path.join(self.root, "munge", "socket")
        host = socket.gethostname().split(".")[0]
        r = self.root
        conf = f"""\
ClusterName=hopgentest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={self.munge_socket}
CredType=cred/munge
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd.log
# No cgroups: processes are tracked by parent pid, tasks are not confined.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerParameters=sched_interval=1
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={self.jobcomp}
ReturnToService=2
MinJobAge=600
# The node may declare more CPUs than the machine has (tasks then share cores).
SlurmdParameters=config_overrides
NodeName={self.NODE} NodeHostname={host} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={self.memory_mb} State=UNKNOWN
PartitionName=test Nodes={self.NODE} Default=YES MaxTime=30 State=UP
"""
        with open(self.conf, "w") as f:
            f.write(conf)
        return key

    def _spawn(self, name, argv):
        out = open(os.path.join(self.logs, f"{name}.out"), "w")
        self.procs[name] = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=self.env,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        out.close()

    def _wait(self, what, ok, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise SlurmSetupError(f"{name} exited ({p.returncode}) while waiting for {what}:\n"
                                          + self.diagnostics(first=name))
            if ok():
                return
            time.sleep(0.2)
        raise SlurmSetupError(f"timed out after {timeout}s waiting for {what}:\n" + self.diagnostics())

    def diagnostics(self, first=None):
        """The last lines of every daemon log (those of `first` first)."""
        parts = []
        for name in sorted(DAEMONS, key=lambda n: n != first):
            for suffix in (".out", ".log"):
                path = os.path.join(self.logs, name + suffix)
                if os.path.exists(path):
                    parts.append(f"--- {path}\n{_tail(path)}")
        return "".join(parts)

    def start(self, timeout=30):
        key = self._write_files()
        self._spawn("munged", ["munged", "-F", "-f", f"--socket={self.munge_socket}", f"--key-file={key}",
                               f"--log-file={self.logs}/munged.log", f"--pid-file={self.root}/munge/munged.pid",
                               f"--seed-file={self.root}/munge/seed"])
        self._wait("munged to answer", lambda: self._munge_ok(), timeout)
        self._spawn("slurmctld", ["slurmctld", "-D", "-i", "-f", self.conf])
        self._spawn("slurmd", ["slurmd", "-D", "-f", self.conf, "-N", self.NODE])
        self._wait("the node to become idle", lambda: self.run("sinfo", "-h", "-o", "%T", check=False)
                   .stdout.strip() == "idle", timeout)
        return self

    def _munge_ok(self):
        if not os.path.exists(self.munge_socket):
            return False
        cred = subprocess.run(["munge", "-n", "-S", self.munge_socket], capture_output=True, env=self.env, timeout=10)
        back = subprocess.run(["unmunge", "-S", self.munge_socket], input=cred.stdout, capture_output=True,
                              env=self.env, timeout=10)
        return cred.returncode == 0 and back.returncode == 0

    # ---- use ----------------------------------------------------------------------------------

    def run(self, *argv, check=True, cwd=None, env=None, timeout=60):
        r = subprocess.run(argv, capture_output=True, text=True, env=env or self.env, cwd=cwd, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} failed ({r.returncode}): {r.stderr.strip()} {r.stdout.strip()}")
        return r

    def active(self, job_ids):
        """Unfinished jobs (array tasks included) of these job ids: [(job_id, array_id, task, state, reason)]."""
        out = self.run("squeue", "-h", "-t", "all", "-o", "%A|%F|%K|%T|%r").stdout
        rows = [line.split("|") for line in out.splitlines() if line.strip()]
        ids = {str(j) for j in job_ids}
        return [r for r in rows if (r[0] in ids or r[1] in ids) and r[3] in ACTIVE]

    def wait(self, job_ids, timeout):
        """Wait until every job of `job_ids` has ended; AssertionError (with the queue) on timeout."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            left = self.active(job_ids)
            if not left:
                return
            if any(r[4] == "DependencyNeverSatisfied" for r in left):
                raise AssertionError(f"a job can never start: {left}")
            time.sleep(0.5)
        raise AssertionError(f"jobs {job_ids} still unfinished after {timeout}s: {self.active(job_ids)}")

    def records(self):
        """Job-completion records (one dict per finished job or array task) from jobcomp/filetxt."""
        if not os.path.exists(self.jobcomp):
            return []
        recs = []
        with open(self.jobcomp) as f:
            for line in f:
                fields = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
                if fields:
                    recs.append(fields)
        return recs

    def sacct_states(self):
        """{job id: (state, exit code)} as `sacct --completion` prints them."""
        out = self.run("sacct", "--completion", "-n", "-P", "-o", "JobID,State,ExitCode").stdout
        return {r[0]: (r[1], r[2]) for r in (line.split("|") for line in out.splitlines()) if len(r) == 3}

    # ---- teardown -----------------------------------------------------------------------------

    def stop(self, timeout=15):
        if "slurmctld" in self.procs and self.procs["slurmctld"].poll() is None:
            self.run("scancel", "--user=root", check=False, timeout=15)
            end = time.monotonic() + timeout
            while time.monotonic() < end and self.run("squeue", "-h", "-o", "%A", check=False, timeout=15).stdout.strip():
                time.sleep(0.5)
        for name in ("slurmd", "slurmctld", "munged"):  # reverse start order
            p = self.procs.get(name)
            if p is None or p.poll() is not None:
                continue
            p.terminate()
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout)
        shutil.rmtree(self.root, ignore_errors=True)  # made by mkdtemp above: ours alone

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()
