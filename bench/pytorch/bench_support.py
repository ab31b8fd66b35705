"""What every PyTorch reference script of the bench shares: reading IDX files, the data order of the library's
Batches module, and the process's memory as the F# worker measures it (bench/Measurement.fs)."""
import gzip
import os

LOSS_WINDOW = 50  # steps averaged into final_loss, as Measurement.lossWindow
MASK64 = (1 << 64) - 1


def proc_status_mb(field):
    """A /proc/self/status field in MB (VmHWM: peak resident set, VmRSS: current)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def read_idx(folder, name):
    """The bytes of an IDX file, raw or gzipped (name or name.gz)."""
    path = os.path.join(folder, name)
    if os.path.exists(path):
        with open(path, "rb") as f:
            return f.read()
    with gzip.open(path + ".gz", "rb") as f:
        return f.read()


def splitmix(x):
    """SplitMix64's finaliser, as Batches.mix."""
    z = (x + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def epoch_seed(seed, epoch):
    """Batches.epochSeed: the generator seed of the permutation of (seed, epoch)."""
    return splitmix(splitmix(seed & MASK64) ^ epoch)
