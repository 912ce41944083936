import CConvNeXtKernels

/// One column panel of a packed linear layer, for the tile kernels of one element type (f32 or
/// bf16): `width` output columns starting at `column`, the packed weights `b`, and the mr-row tile
/// kernel with its 1-row strip (the same kernel when the table has no strip).
struct GEMMPanel<Tile: GEMMTileArguments> {
    let column: Int
    let width: Int
    let b: UnsafePointer<Tile.Element>
    let kernel: (UnsafePointer<Tile>?) -> Void
    let rowKernel: (UnsafePointer<Tile>?) -> Void
}

extension PackedLinear {
    /// The panel widths of `paddedN` columns for the widest-row tiles of `family`.
    static func panelWidths(family: [Kernel], paddedN: Int) -> [Int] {
        let tileRows = family.map(\.mr).max() ?? 1
        return KernelTable.panelWidths(paddedColumns: paddedN, available: Set(family.filter { $0.mr == tileRows }.map(\.nr)))
    }

    /// The panels of `paddedN` columns for the widest-row tiles of `family`: the panel widths
    /// (`KernelTable.panelWidths`), the weights of each panel packed by `pack(column, width)`, and
    /// the kernels `function` picks from the family's entries. Returns the tile rows, the panels
    /// and the kernel names (for profiles and `convnext cpu`).
    static func buildPanels<Tile: GEMMTileArguments>(
        family: [Kernel], paddedN: Int, function: (Kernel) -> (UnsafePointer<Tile>?) -> Void,
        pack: (_ column: Int, _ width: Int) -> UnsafePointer<Tile.Element>
    ) -> (mr: Int, panels: [GEMMPanel<Tile>], names: [String]) {
        let tileRows = family.map(\.mr).max() ?? 1
        let widths = panelWidths(family: family, paddedN: paddedN)
        var panels: [GEMMPanel<Tile>] = []
        var names: [String] = []
        var column = 0
        for width in widths {
            // panelWidths only yields widths with an mr-row kernel in the family.
            let tile = family.first { $0.mr == tileRows && $0.nr == width }!
            let row = family.first { $0.mr == 1 && $0.nr == width } ?? tile
            panels.append(GEMMPanel(column: column, width: width, b: pack(column, width), kernel: function(tile),
                                    rowKernel: function(row)))
            if !names.contains(tile.name) { names.append(tile.name) }
            column += width
        }
        return (tileRows, panels, names)
    }

    /// `C[rowBase + r] = A[r] W + b` for r in 0..<m: panels outer, row tiles inner, so a panel stays
    /// in cache while it meets every row. Output rows are numbered from `rowBase` (a bf16 block of
    /// A rows writes its own rows of C).
    static func runPanels<Tile: GEMMTileArguments>(
        _ panels: [GEMMPanel<Tile>], mr: Int, k: Int, a: UnsafePointer<Tile.Element>, lda: Int, m: Int, rowBase: Int,
        bias: UnsafePointer<Float>, output: Output, gelu: Bool
    ) {
        var tile = Tile()
        tile.k = k
        tile.lda = lda
        tile.gelu = gelu ? 1 : 0
        for panel in panels {
            tile.b = panel.b
            tile.bias = bias + panel.column
            var r = 0
            while r < m {
                let rows = min(mr, m - r)
                tile.a = a + r * lda
                tile.rows = rows
                switch output {
                case .compact(let c, let ldc):
                    tile.c = c + (rowBase + r) * ldc + panel.column
                    tile.ldc = ldc
                    tile.c_row_offsets = nil
                    tile.residual = nil
                case .mapped(let c, let offsets, let residual):
                    tile.c = c + panel.column
                    tile.ldc = 0
                    tile.c_row_offsets = offsets + rowBase + r
                    tile.residual = residual.map { $0 + panel.column }
                }
                if rows == 1 { panel.rowKernel(&tile) } else { panel.kernel(&tile) }
                r += mr
            }
        }
    }
}
