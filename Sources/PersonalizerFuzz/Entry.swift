// personalizer-fuzz: the fuzz target of the request path (see fuzz/README.md).
//
// Built two ways:
// - `make fuzz` / `make fuzz-smoke` build it with `-sanitize=fuzzer,address -DFUZZING`: then it is
//   a libFuzzer binary (libFuzzer's `main`, this file's `LLVMFuzzerTestOneInput`);
// - a plain `swift build` builds it as a replayer: `personalizer-fuzz FILE|DIR...` runs each input
//   through the same harness, without libFuzzer (the regression tests use it), and
//   `personalizer-fuzz --write-seeds DIR` writes the seed corpus.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One fuzz input. Its first two bytes choose the mode, the session's knobs and its loops
/// (`FuzzSession.Control`); the rest is the wire byte stream (raw mode) or a program for
/// `RequestGenerator` (structure-aware mode).
enum FuzzInput {
    static func run(_ data: UnsafeRawBufferPointer) {
        guard data.count >= 2 else { return }
        let session = FuzzSession(control: FuzzSession.Control(data[0], loops: data[1]))
        let rest = UnsafeRawBufferPointer(rebasing: data[2...])
        if session.control.generated {
            var generator = RequestGenerator(rest)
            generator.run(on: session)
        } else {
            session.feedStream(rest)
        }
        session.finish()
    }
}

#if FUZZING

@_cdecl("LLVMFuzzerTestOneInput")
public func personalizerFuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzInput.run(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    return 0
}

/// libFuzzer's driver (compiler-rt's FuzzerInterface.h), called with the process's arguments.
@_silgen_name("LLVMFuzzerRunDriver")
func llvmFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// SwiftPM links an executable with `main` defined as `<module>_main` (so that tests can link
/// executable modules), which leaves libFuzzer's own `main` out: this one runs libFuzzer.
@_cdecl("personalizer_fuzz_main")
public func personalizerFuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return llvmFuzzerRunDriver(&count, &arguments) { data, size in
        personalizerFuzzTestOneInput(data, size)
    }
}

#else

@main
enum Replay {
    static func main() {
        var arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "--write-seeds", arguments.count == 2 {
            exit(SeedCorpus.write(to: arguments[1]) ? 0 : 1)
        }
        if arguments.isEmpty || arguments.contains("--help") || arguments.contains("-h") {
            print("""
                usage: personalizer-fuzz FILE|DIR...     replay inputs through the fuzz harness (exit 0: all clean)
                       personalizer-fuzz --write-seeds DIR  write the seed corpus
                Built with `make fuzz` it is a libFuzzer binary instead (see fuzz/README.md).
                """)
            exit(arguments.isEmpty ? 2 : 0)
        }
        installCrashNote()
        var files: [String] = []
        while let path = arguments.first {
            arguments.removeFirst()
            files += listFiles(path)
        }
        for file in files {
            guard let bytes = readFile(file) else {
                FuzzReport.write("personalizer-fuzz: cannot read \(file)\n")
                exit(1)
            }
            setCurrentInput(file)
            bytes.withUnsafeBytes { FuzzInput.run($0) }
        }
        print("personalizer-fuzz: \(files.count) inputs replayed, no findings")
    }

    /// Regular files under `path` (itself if it is one), sorted; hidden files skipped.
    static func listFiles(_ path: String) -> [String] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            FuzzReport.write("personalizer-fuzz: no such file or folder: \(path)\n")
            exit(1)
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { return [path] }
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name.hasPrefix(".") || name == "README.md" { continue }
            names.append(name)
        }
        return names.sorted().flatMap { listFiles(path + "/" + $0) }
    }

    static func readFile(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count > 0 { bytes += chunk[0..<count] }
            if count < chunk.count { break }
        }
        return ferror(file) == 0 ? bytes : nil
    }
}

/// The input being replayed, named on stderr if the process dies on it (a Swift trap or a
/// sanitizer abort gives no chance to print afterwards).
nonisolated(unsafe) private var currentInput: UnsafeMutablePointer<CChar>?

private func setCurrentInput(_ path: String) {
    let note = strdup("personalizer-fuzz: died while replaying \(path)\n")
    let previous = currentInput
    currentInput = note
    free(previous)
}

private func installCrashNote() {
    for signal in [SIGILL, SIGTRAP, SIGABRT, SIGSEGV, SIGBUS, SIGFPE] {
        _ = Glibc.signal(signal) { number in
            if let note = currentInput { _ = write(2, note, strlen(note)) }
            Glibc.signal(number, SIG_DFL)
            raise(number)
        }
    }
}

#endif
