/// A row-major matrix view into arena (or weight) memory: pointer, shape and row stride.
/// Copying a view copies nothing; `row(i)` and `rows(_:)` are views too.
public struct Matrix {
    public var data: UnsafeMutablePointer<Float>
    public let rows: Int
    public let cols: Int
    public let stride: Int

    @inlinable public init(_ data: UnsafeMutablePointer<Float>, rows: Int, cols: Int, stride: Int? = nil) {
        self.data = data; self.rows = rows; self.cols = cols; self.stride = stride ?? cols
        precondition(self.stride >= cols)
    }
    @inlinable public func row(_ i: Int) -> UnsafeMutablePointer<Float> { data + i * stride }
    @inlinable public func rows(_ range: Range<Int>) -> Matrix {
        Matrix(data + range.lowerBound * stride, rows: range.count, cols: cols, stride: stride)
    }
    @inlinable public subscript(i: Int, j: Int) -> Float {
        get { data[i * stride + j] }
        nonmutating set { data[i * stride + j] = newValue }
    }
    public func fill(_ value: Float) {
        for i in 0..<rows { row(i).update(repeating: value, count: cols) }
    }
    public func copy(from other: Matrix) {
        precondition(other.rows == rows && other.cols == cols)
        for i in 0..<rows { row(i).update(from: other.row(i), count: cols) }
    }
    /// An arena-backed matrix.
    public static func allocate(_ arena: Arena, rows: Int, cols: Int, for what: String = "matrix") throws -> Matrix {
        Matrix(try arena.floats(rows * cols, for: what), rows: rows, cols: cols)
    }
}

/// Vector helpers on raw float buffers (SIMD16 main loop, scalar tail).
public enum Vec {
    @inlinable public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = SIMD16<Float>(), i = 0
        let ar = UnsafeRawPointer(a), br = UnsafeRawPointer(b)
        while i + 16 <= n {
            acc = acc.addingProduct(ar.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self),
                                    br.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
            i += 16
        }
        var s = acc.horizontalSum()
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }
    @inlinable public static func norm(_ a: UnsafePointer<Float>, _ n: Int) -> Float { dot(a, a, n).squareRoot() }
    /// ‖a‖₂ for a direction that is only ever used as a/‖a‖: when the squares of a would underflow
    /// (max |a_i| < 2⁻⁶⁰, e.g. the tiny but non-zero gradient of saturated softmax samples), `a` is
    /// first divided by max |a_i| in place, which leaves a/‖a‖ unchanged. Returns 0 only for a = 0.
    public static func scaledNorm(_ a: UnsafeMutablePointer<Float>, _ n: Int) -> Float {
        var amax: Float = 0
        for i in 0..<n { amax = max(amax, abs(a[i])) }
        if amax == 0 { return 0 }
        if amax < 0x1p-60 { for i in 0..<n { a[i] /= amax } }
        return norm(a, n)
    }
    /// y += α·x
    @inlinable public static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        let xr = UnsafeRawPointer(x), yr = UnsafeMutableRawPointer(y)
        while i + 16 <= n {
            let v = yr.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
                .addingProduct(SIMD16(repeating: alpha), xr.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
            yr.storeBytes(of: v, toByteOffset: i * 4, as: SIMD16<Float>.self)
            i += 16
        }
        while i < n { y[i] += alpha * x[i]; i += 1 }
    }
    @inlinable public static func scale(_ x: UnsafeMutablePointer<Float>, _ alpha: Float, _ n: Int) {
        for i in 0..<n { x[i] *= alpha }
    }
}
