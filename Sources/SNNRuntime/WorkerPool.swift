import Foundation

/// A fixed set of threads started once. `run(_:)` hands every worker index 0..<count to the body
/// (index 0 runs on the caller) and returns when all are done. Nothing is allocated per call.
public final class WorkerPool: @unchecked Sendable {
    public let count: Int
    private var threads: [Thread] = []
    private let lock = NSCondition()
    private var generation = 0
    private var pending = 0
    private var body: ((Int) -> Void)? = nil
    private var stopping = false

    public init(count: Int) {
        precondition(count >= 1)
        self.count = count
        for w in 1..<count {
            let t = Thread { [unowned self] in self.loop(worker: w) }
            t.stackSize = 8 << 20
            threads.append(t)
            t.start()
        }
    }

    deinit {
        lock.lock(); stopping = true; generation += 1; lock.broadcast(); lock.unlock()
    }

    private func loop(worker: Int) {
        var seen = 0
        while true {
            lock.lock()
            while generation == seen && !stopping { lock.wait() }
            if stopping { lock.unlock(); return }
            seen = generation
            let job = body!
            lock.unlock()
            job(worker)
            lock.lock()
            pending -= 1
            if pending == 0 { lock.broadcast() }
            lock.unlock()
        }
    }

    /// Runs `job(w)` for w in 0..<count concurrently; returns when all have finished.
    public func run(_ job: @escaping (Int) -> Void) {
        if count == 1 { job(0); return }
        lock.lock()
        body = job
        pending = count - 1
        generation += 1
        lock.broadcast()
        lock.unlock()
        job(0)
        lock.lock()
        while pending > 0 { lock.wait() }
        body = nil
        lock.unlock()
    }
}
