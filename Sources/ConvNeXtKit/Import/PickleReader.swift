import Foundation

/// A value built by the restricted unpickler: plain data, containers, and tensor references.
/// Nothing in it can run code.
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes(Data)
    case tuple(PickleTuple)
    case list(PickleList)
    case dict(PickleDict)
    /// One of the allow-listed Python globals.
    case global(PickleGlobal)
    /// A persistent id `('storage', type, key, location, numel)`.
    case storage(PickleStorage)
    /// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`.
    case tensor(PickleTensor)

    /// Short type name for messages.
    var kind: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case .global(let g): return g.qualifiedName
        case .storage: return "storage"
        case .tensor: return "tensor"
        }
    }

    /// Nesting depth: 0 for scalars, 1 + the deepest child for containers.
    var depth: Int {
        switch self {
        case .tuple(let t): return t.depth
        case .list(let l): return l.depth
        case .dict(let d): return d.depth
        default: return 0
        }
    }
}

/// The container classes share this: a container is sealed once it is placed inside another,
/// after which it cannot change. That keeps the value graph acyclic and its depth exact.
class PickleContainer {
    var depth = 1
    var sealed = false
}

final class PickleTuple: PickleContainer {
    let items: [PickleValue]
    init(_ items: [PickleValue]) { self.items = items }
}

final class PickleList: PickleContainer {
    var items: [PickleValue] = []
}

final class PickleDict: PickleContainer {
    /// Entries in insertion order; a repeated key replaces the earlier value in place.
    private(set) var entries: [(key: PickleValue, value: PickleValue)] = []
    private var stringIndex: [String: Int] = [:]

    func set(_ key: PickleValue, _ value: PickleValue) {
        if case .string(let s) = key {
            if let i = stringIndex[s] {
                entries[i].value = value
                return
            }
            stringIndex[s] = entries.count
        }
        entries.append((key, value))
    }

    subscript(key: String) -> PickleValue? {
        stringIndex[key].map { entries[$0].value }
    }
}

/// The Python globals a weights checkpoint may name; every other global is refused.
enum PickleGlobal: Equatable {
    case orderedDict
    case rebuildTensorV2
    case rebuildTensor
    case rebuildParameter
    case rebuildParameterWithState
    case storageType(CheckpointDType, name: String)

    /// Resolves `module.name`, or nil when it is not allowed.
    init?(module: String, name: String) {
        switch (module, name) {
        case ("collections", "OrderedDict"): self = .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): self = .rebuildTensorV2
        case ("torch._utils", "_rebuild_tensor"): self = .rebuildTensor
        case ("torch._utils", "_rebuild_parameter"): self = .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): self = .rebuildParameterWithState
        case ("torch", _):
            let types: [String: CheckpointDType] = [
                "FloatStorage": .float32, "HalfStorage": .float16, "BFloat16Storage": .bfloat16,
                "DoubleStorage": .float64, "LongStorage": .int64, "IntStorage": .int32,
                "ShortStorage": .int16, "CharStorage": .int8, "ByteStorage": .uint8, "BoolStorage": .bool,
            ]
            guard let dtype = types[name] else { return nil }
            self = .storageType(dtype, name: name)
        default: return nil
        }
    }

    var qualifiedName: String {
        switch self {
        case .orderedDict: return "collections.OrderedDict"
        case .rebuildTensorV2: return "torch._utils._rebuild_tensor_v2"
        case .rebuildTensor: return "torch._utils._rebuild_tensor"
        case .rebuildParameter: return "torch._utils._rebuild_parameter"
        case .rebuildParameterWithState: return "torch._utils._rebuild_parameter_with_state"
        case .storageType(_, let name): return "torch.\(name)"
        }
    }
}

/// A tensor storage named by a persistent id; its bytes are the zip entry `data/<key>`.
struct PickleStorage: Equatable {
    var key: String
    var dtype: CheckpointDType
    var elementCount: Int
}

/// A view into a storage: element offset, shape and element strides.
struct PickleTensor: Equatable {
    var storage: PickleStorage
    var offset: Int
    var shape: [Int]
    var strides: [Int]
}

/// A restricted unpickler for the `data.pkl` of a `torch.save` archive.
///
/// It understands the protocol-2 opcodes a state dict uses (plus the few protocol-4 framing
/// ones) and builds plain values; the only callables it knows are the allow-listed globals,
/// which it interprets itself. Any other global or opcode is refused with an error that
/// names the file: nothing from the file is ever executed or imported.
struct PickleReader {
    let path: String
    /// The archive entry being read, for messages (`archive/data.pkl`).
    let entryName: String
    private let bytes: [UInt8]
    private var position = 0
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    static let maxStack = 1 << 20
    static let maxMemo = 1 << 20
    static let maxDepth = 64
    static let maxStringBytes = 1 << 24

    init(path: String, entryName: String, bytes: [UInt8]) {
        self.path = path
        self.entryName = entryName
        self.bytes = bytes
    }

    private func fail(_ reason: String) -> ConvNeXtError {
        .invalidModel(path: path, reason: "\(entryName): \(reason)")
    }

    /// Runs the pickle program to STOP and returns the value it built.
    mutating func read() throws -> PickleValue {
        while true {
            let at = position
            let op = try byte()
            switch op {
            case 0x80: // PROTO
                let version = try byte()
                guard version <= 5 else { throw fail("pickle protocol \(version) is not supported") }
            case 0x95: // FRAME: a length hint only
                _ = try fixed(8)
            case 0x2E: // STOP
                guard let result = stack.popLast(), stack.isEmpty, marks.isEmpty else {
                    throw fail("pickle stops with \(stack.count) values on the stack (damaged)")
                }
                return result
            case 0x28: // MARK
                guard marks.count < Self.maxStack else { throw fail("too many marks") }
                marks.append(stack.count)
            case 0x30: // POP
                _ = try pop()
            case 0x31: // POP_MARK
                _ = try popMark()
            case 0x4E: // NONE
                try push(.none)
            case 0x88: try push(.bool(true)) // NEWTRUE
            case 0x89: try push(.bool(false)) // NEWFALSE
            case 0x4A: // BININT
                try push(.int(Int(Int32(bitPattern: UInt32(try unsigned(4))))))
            case 0x4B: // BININT1
                try push(.int(Int(try unsigned(1))))
            case 0x4D: // BININT2
                try push(.int(Int(try unsigned(2))))
            case 0x8A: // LONG1
                let n = Int(try byte())
                try push(.int(try long(byteCount: n)))
            case 0x47: // BINFLOAT: big-endian double
                var bits: UInt64 = 0
                for b in try fixed(8) { bits = bits << 8 | UInt64(b) }
                try push(.float(Double(bitPattern: bits)))
            case 0x58: // BINUNICODE
                try push(.string(try utf8(count: Int(try unsigned(4)))))
            case 0x8C: // SHORT_BINUNICODE
                try push(.string(try utf8(count: Int(try byte()))))
            case 0x8D: // BINUNICODE8
                try push(.string(try utf8(count: try length64())))
            case 0x43: // SHORT_BINBYTES
                try push(.bytes(Data(try fixed(Int(try byte())))))
            case 0x42: // BINBYTES
                try push(.bytes(Data(try fixed(Int(try unsigned(4))))))
            case 0x7D: // EMPTY_DICT
                try push(.dict(PickleDict()))
            case 0x5D: // EMPTY_LIST
                try push(.list(PickleList()))
            case 0x29: // EMPTY_TUPLE
                try push(.tuple(PickleTuple([])))
            case 0x74: // TUPLE
                try push(try makeTuple(try popMark()))
            case 0x85: try push(try makeTuple(try pop(1))) // TUPLE1
            case 0x86: try push(try makeTuple(try pop(2))) // TUPLE2
            case 0x87: try push(try makeTuple(try pop(3))) // TUPLE3
            case 0x73: // SETITEM
                let value = try pop(), key = try pop()
                try setItems(on: try top(), [key, value])
            case 0x75: // SETITEMS
                let items = try popMark()
                guard items.count % 2 == 0 else { throw fail("SETITEMS with an odd number of values at offset \(at)") }
                try setItems(on: try top(), items)
            case 0x61: // APPEND
                let value = try pop()
                try append(to: try top(), [value])
            case 0x65: // APPENDS
                let items = try popMark()
                try append(to: try top(), items)
            case 0x71: // BINPUT
                try put(Int(try byte()))
            case 0x72: // LONG_BINPUT
                try put(Int(try unsigned(4)))
            case 0x94: // MEMOIZE
                try put(memo.count)
            case 0x68: // BINGET
                try get(Int(try byte()))
            case 0x6A: // LONG_BINGET
                try get(Int(try unsigned(4)))
            case 0x63: // GLOBAL: "module\nname\n"
                let module = try line(), name = try line()
                try push(.global(try allowedGlobal(module: module, name: name)))
            case 0x93: // STACK_GLOBAL
                guard case .string(let name) = try pop(), case .string(let module) = try pop() else {
                    throw fail("STACK_GLOBAL needs two strings at offset \(at)")
                }
                try push(.global(try allowedGlobal(module: module, name: name)))
            case 0x52: // REDUCE
                let arguments = try pop()
                let callable = try pop()
                try push(try reduce(callable, arguments))
            case 0x51: // BINPERSID
                try push(try persistentStorage(try pop()))
            case 0x62: // BUILD
                let state = try pop()
                let target = try top()
                // Only an OrderedDict's attribute state (torch's `_metadata`) is expected; it carries
                // no weights and is ignored. Anything else would need code to apply it.
                guard case .dict = target else {
                    throw fail("BUILD on a \(target.kind) (with \(state.kind) state) is not allowed in a weights checkpoint")
                }
            default:
                throw fail("pickle opcode 0x\(String(op, radix: 16)) at offset \(at) is not allowed in a weights checkpoint (refused)")
            }
        }
    }

    // MARK: Reading bytes

    private mutating func byte() throws -> UInt8 {
        guard position < bytes.count else { throw fail("pickle ends early at offset \(position) (truncated)") }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func fixed(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - position else {
            throw fail("pickle ends early: \(count) bytes wanted at offset \(position) (truncated)")
        }
        defer { position += count }
        return bytes[position ..< position + count]
    }

    private mutating func unsigned(_ count: Int) throws -> UInt64 {
        var value: UInt64 = 0
        for (i, b) in try fixed(count).enumerated() { value |= UInt64(b) << (8 * UInt64(i)) }
        return value
    }

    private mutating func length64() throws -> Int {
        let n = try unsigned(8)
        guard n <= UInt64(Self.maxStringBytes) else { throw fail("string of \(n) bytes is too long") }
        return Int(n)
    }

    /// A little-endian two's-complement integer of `byteCount` bytes (LONG1).
    private mutating func long(byteCount: Int) throws -> Int {
        guard byteCount <= 8 else { throw fail("integer of \(byteCount) bytes is too large") }
        if byteCount == 0 { return 0 }
        var value = try unsigned(byteCount)
        if byteCount < 8, value & (1 << (8 * UInt64(byteCount) - 1)) != 0 {
            value |= ~UInt64(0) << (8 * UInt64(byteCount))
        }
        return Int(bitPattern: UInt(value))
    }

    private mutating func utf8(count: Int) throws -> String {
        guard count <= Self.maxStringBytes else { throw fail("string of \(count) bytes is too long") }
        let raw = try fixed(count)
        guard let s = String(bytes: raw, encoding: .utf8) else { throw fail("string at offset \(position - count) is not UTF-8") }
        return s
    }

    /// A newline-terminated ASCII line of at most 256 bytes (GLOBAL operands).
    private mutating func line() throws -> String {
        var out: [UInt8] = []
        while true {
            let b = try byte()
            if b == 0x0A { break }
            guard out.count < 256, b >= 0x20, b < 0x7F else { throw fail("malformed GLOBAL name at offset \(position - 1)") }
            out.append(b)
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: Stack and memo

    private mutating func push(_ value: PickleValue) throws {
        guard stack.count < Self.maxStack else { throw fail("pickle stack exceeds \(Self.maxStack) values") }
        stack.append(value)
    }

    private mutating func pop() throws -> PickleValue {
        guard let value = stack.popLast() else { throw fail("pickle stack underflow at offset \(position - 1) (damaged)") }
        if let mark = marks.last, stack.count < mark { throw fail("pickle pops past a mark at offset \(position - 1) (damaged)") }
        return value
    }

    private mutating func pop(_ count: Int) throws -> [PickleValue] {
        var items: [PickleValue] = []
        for _ in 0..<count { items.append(try pop()) }
        return items.reversed()
    }

    private func top() throws -> PickleValue {
        guard let value = stack.last else { throw fail("pickle stack underflow at offset \(position - 1) (damaged)") }
        return value
    }

    private mutating func popMark() throws -> [PickleValue] {
        guard let mark = marks.popLast() else { throw fail("pickle has no mark at offset \(position - 1) (damaged)") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    private mutating func put(_ index: Int) throws {
        guard memo.count < Self.maxMemo || memo[index] != nil else { throw fail("pickle memo exceeds \(Self.maxMemo) values") }
        memo[index] = try top()
    }

    private mutating func get(_ index: Int) throws {
        guard let value = memo[index] else { throw fail("pickle refers to memo \(index), never stored (damaged)") }
        try push(value)
    }

    // MARK: Containers

    /// Seals `child` as it goes into `parent`, and returns the parent's new depth.
    private func adopt(_ child: PickleValue, into parent: PickleContainer) throws -> Int {
        switch child {
        case .tuple(let c as PickleContainer), .list(let c as PickleContainer), .dict(let c as PickleContainer):
            guard c !== parent else { throw fail("pickle puts a container inside itself (not a state dict)") }
            c.sealed = true
        default: break
        }
        let depth = max(parent.depth, child.depth + 1)
        guard depth <= Self.maxDepth else { throw fail("values nest deeper than \(Self.maxDepth) levels") }
        return depth
    }

    private func makeTuple(_ items: [PickleValue]) throws -> PickleValue {
        let tuple = PickleTuple(items)
        for item in items { tuple.depth = try adopt(item, into: tuple) }
        return .tuple(tuple)
    }

    private func setItems(on target: PickleValue, _ items: [PickleValue]) throws {
        guard case .dict(let dict) = target else { throw fail("SETITEM(S) on a \(target.kind), expected a dict") }
        guard !dict.sealed else { throw fail("pickle changes a dict after storing it elsewhere (not a state dict)") }
        for i in stride(from: 0, to: items.count, by: 2) {
            dict.depth = try adopt(items[i], into: dict)
            dict.depth = try adopt(items[i + 1], into: dict)
            dict.set(items[i], items[i + 1])
        }
    }

    private func append(to target: PickleValue, _ items: [PickleValue]) throws {
        guard case .list(let list) = target else { throw fail("APPEND(S) on a \(target.kind), expected a list") }
        guard !list.sealed else { throw fail("pickle changes a list after storing it elsewhere (not a state dict)") }
        for item in items {
            list.depth = try adopt(item, into: list)
            list.items.append(item)
        }
    }

    // MARK: Globals and calls

    private func allowedGlobal(module: String, name: String) throws -> PickleGlobal {
        guard let global = PickleGlobal(module: module, name: name) else {
            throw fail("refuses the Python global '\(module).\(name)': a weights checkpoint only needs tensors, storages and OrderedDict (nothing was executed)")
        }
        return global
    }

    /// Interprets a call of an allow-listed global; only tensors and empty OrderedDicts come out.
    private func reduce(_ callable: PickleValue, _ arguments: PickleValue) throws -> PickleValue {
        guard case .global(let global) = callable else { throw fail("REDUCE calls a \(callable.kind), not an allowed global") }
        guard case .tuple(let tuple) = arguments else { throw fail("REDUCE of \(global.qualifiedName) without an argument tuple") }
        let args = tuple.items
        switch global {
        case .orderedDict:
            guard args.isEmpty else { throw fail("collections.OrderedDict called with \(args.count) arguments; expected none") }
            return .dict(PickleDict())
        case .rebuildTensorV2, .rebuildTensor:
            let expected = global == .rebuildTensor ? [4] : [6, 7]
            guard expected.contains(args.count) else {
                throw fail("\(global.qualifiedName) called with \(args.count) arguments")
            }
            guard case .storage(let storage) = args[0] else { throw fail("\(global.qualifiedName) needs a storage, found \(args[0].kind)") }
            guard case .int(let offset) = args[1] else { throw fail("tensor storage offset is a \(args[1].kind)") }
            let shape = try ints(args[2], what: "tensor size")
            let strides = try ints(args[3], what: "tensor stride")
            guard shape.count == strides.count else { throw fail("tensor size \(shape) and stride \(strides) differ in rank") }
            return .tensor(PickleTensor(storage: storage, offset: offset, shape: shape, strides: strides))
        case .rebuildParameter, .rebuildParameterWithState:
            guard args.count == (global == .rebuildParameter ? 3 : 4), case .tensor = args[0] else {
                throw fail("\(global.qualifiedName) called without a tensor")
            }
            return args[0]
        case .storageType:
            throw fail("\(global.qualifiedName) may only name a storage type, not be called")
        }
    }

    private func ints(_ value: PickleValue, what: String) throws -> [Int] {
        guard case .tuple(let tuple) = value else { throw fail("\(what) is a \(value.kind), expected a tuple of ints") }
        return try tuple.items.map {
            guard case .int(let n) = $0 else { throw fail("\(what) holds a \($0.kind), expected ints") }
            return n
        }
    }

    /// `('storage', storage_type, key, location, numel)` as torch.save writes its persistent ids.
    private func persistentStorage(_ pid: PickleValue) throws -> PickleValue {
        guard case .tuple(let tuple) = pid, tuple.items.count == 5,
              case .string("storage") = tuple.items[0],
              case .global(.storageType(let dtype, _)) = tuple.items[1],
              case .string(let key) = tuple.items[2],
              case .string = tuple.items[3],
              case .int(let count) = tuple.items[4] else {
            throw fail("persistent id is not ('storage', type, key, location, numel)")
        }
        guard count >= 0, count <= CheckpointLimits.maxTensorElements else { throw fail("storage '\(key)' claims \(count) elements") }
        return .storage(PickleStorage(key: key, dtype: dtype, elementCount: count))
    }
}
