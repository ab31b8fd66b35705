namespace Generative

open System
open System.Globalization

/// What fits in this machine's memory: estimates of large allocations are compared with it before anything is
/// allocated, so absurd settings are refused with their name instead of ending in libtorch's allocator or the kernel's
/// out-of-memory killer.
[<RequireQualifiedAccess>]
module MemoryBudget =
    /// The physical memory this process may use, in bytes: the machine's, or its container's limit.
    let totalBytes () : int64 = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes

    /// A byte count for people: "850 MB", "2.5 TB".
    let describe (bytes: float) : string =
        let units = [| "bytes"; "KB"; "MB"; "GB"; "TB"; "PB"; "EB" |]
        let rec scale (value: float) (unit: int) =
            if value >= 1000.0 && unit < units.Length - 1 then scale (value / 1000.0) (unit + 1) else value, unit
        let value, unit = scale bytes 0
        let format = if unit = 0 || value >= 100.0 then "F0" else "F1"
        value.ToString(format, CultureInfo.InvariantCulture) + " " + units.[unit]

    /// Bytes of `count` float32 elements (as a float: counts of absurd settings overflow an int64 of bytes).
    let float32Bytes (count: int64) : float = float count * 4.0

    /// Throws ArgumentException(paramName) when `bytes` (an estimate of what `what` needs) is more than this machine's
    /// memory; `remedy` says what to change.
    let ensureFits (paramName: string) (what: string) (bytes: float) (remedy: string) =
        let total = totalBytes ()
        if total > 0L && bytes > float total then
            raise (ArgumentException(
                    sprintf "%s: %s needs about %s, more than this machine's %s of memory. %s"
                        paramName what (describe bytes) (describe (float total)) remedy, paramName))
