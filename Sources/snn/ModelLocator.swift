import Foundation

/// Finds a model directory for `--model`, so `snn` runs from any working directory.
///
/// A value with a slash (`models/im-fmnist`, `./m`, `/abs/dir`) is a path and is used as given.
/// A bare NAME (no slash; the default is `im-fmnist`) is, in this order:
///   1. `./NAME` when that is a model directory (holds `model.json`)
///   2. `$SNN_MODELS/NAME` when SNN_MODELS is set (and then only there)
///   3. `<dir of the executable>/../share/snn/models/NAME` (the layout of scripts/install.sh)
///   4. `<repository>/models/NAME`, the repository found by walking up from the executable's real
///      path to a folder with `Package.swift` and `models/` (a build in `.build*/…/snn`)
///   5. `./models/NAME`
enum ModelLocator {
    static let defaultName = "im-fmnist"
    static let environmentVariable = "SNN_MODELS"

    struct NotFound: Error, CustomStringConvertible {
        let name: String
        let searched: [String]
        let fromEnvironment: Bool
        var description: String {
            let hint = fromEnvironment
                ? "SNN_MODELS is set, so only there; fix SNN_MODELS or pass --model DIR (a path with a slash)"
                : "pass --model DIR (a path with a slash) or set SNN_MODELS to the folder holding the model directories"
            return "model '\(name)' not found (looked in \(searched.joined(separator: ", "))); \(hint)"
        }
    }

    /// The directory to load for `argument` (nil: the default model).
    static func resolve(_ argument: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                        executable: String? = executablePath(), cwd: String = FileManager.default.currentDirectoryPath) throws -> String {
        let name = argument ?? defaultName
        if name.contains("/") { return name }
        if isModel(name) { return name }
        let dirs = searchDirectories(environment: environment, executable: executable, cwd: cwd)
        for dir in dirs {
            let candidate = (dir as NSString).appendingPathComponent(name)
            if isModel(candidate) { return candidate }
        }
        throw NotFound(name: name, searched: ["./" + name] + dirs, fromEnvironment: environment[environmentVariable] != nil)
    }

    /// Folders that hold model directories, in search order (steps 2–5 above).
    static func searchDirectories(environment: [String: String], executable: String?, cwd: String) -> [String] {
        if let env = environment[environmentVariable], !env.isEmpty { return [env] }
        var dirs: [String] = []
        if let exe = executable {
            let binDir = (exe as NSString).deletingLastPathComponent
            dirs.append(((binDir as NSString).appendingPathComponent("../share/snn/models") as NSString).standardizingPath)
            var dir = binDir
            while dir != "/" && !dir.isEmpty {
                let models = (dir as NSString).appendingPathComponent("models")
                if FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent("Package.swift")),
                   isDirectory(models) {
                    dirs.append(models)
                    break
                }
                dir = (dir as NSString).deletingLastPathComponent
            }
        }
        dirs.append((cwd as NSString).appendingPathComponent("models"))
        return dirs
    }

    /// The running executable's real path (symlinks resolved), or nil.
    static func executablePath() -> String? {
        #if os(Linux)
        if let p = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return p }
        #endif
        return Bundle.main.executableURL?.resolvingSymlinksInPath().path
    }

    static func isModel(_ dir: String) -> Bool {
        FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent("model.json"))
    }

    static func isDirectory(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }
}
