namespace Generative

open System
open System.IO
open System.Text

/// Whole-file writes that readers never see half done: the content goes to a uniquely named temporary file in
/// the target's folder (`<target>.<random>.tmp`), which is then renamed over the target. A rename within one
/// folder replaces the file in one step, so a crash or an exception leaves either the old file or the new one;
/// the temporary file is removed when the write fails. The folder must exist.
[<RequireQualifiedAccess>]
module AtomicFile =
    /// UTF-8 without a byte-order mark: what File.WriteAllText writes, so text files keep their bytes.
    let private utf8 = UTF8Encoding(false)

    /// A temporary name beside `path`; unique so that concurrent writers of one target never share it.
    let private temporaryPathFor (path: string) =
        path + "." + Guid.NewGuid().ToString("N").Substring(0, 8) + ".tmp"

    /// Writes the file through `write`, which gets a fresh, empty stream (it may close it); then renames it over
    /// `path`. An exception in `write` leaves `path` as it was and no temporary file.
    let writeWith (path: string) (write: Stream -> unit) : unit =
        let tmp = temporaryPathFor path
        try
            do
                use stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None)
                write stream
            File.Move(tmp, path, true)
        finally
            if File.Exists tmp then File.Delete tmp

    /// Writes `bytes` as the whole content of `path`.
    let writeBytes (path: string) (bytes: byte[]) : unit =
        writeWith path (fun stream -> stream.Write(bytes, 0, bytes.Length))

    /// Writes `text` as the whole content of `path`, in UTF-8 without a byte-order mark.
    let writeText (path: string) (text: string) : unit = writeBytes path (utf8.GetBytes text)
