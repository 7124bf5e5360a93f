using System.Collections.Generic;
using System.Threading;
using P2pEmu.Dma.Mapping;
using P2pEmu.Emulator.Addressing;

namespace P2pEmu.Drivers.Nvme;

/// <summary>
/// Linux <c>dma_pool</c> for PRP list pages (<c>prp_page_pool</c>): 4 KiB blocks of coherent memory, kept for reuse
/// once freed, released with the pool.
/// </summary>
internal sealed class NvmeDmaPool
{
    public const ulong BlockBytes = 4096;

    private readonly DmaApi _dma;
    private readonly DmaDevice _dev;
    private readonly Stack<Block> _free = new();
    private readonly List<Block> _all = new();
    private readonly Lock _lock = new();

    public NvmeDmaPool(DmaApi dma, DmaDevice dev)
    {
        _dma = dma;
        _dev = dev;
    }

    /// <summary>One block: where the CPU writes it, and the address the device reads it at.</summary>
    public readonly record struct Block(PhysAddress Cpu, DmaAddress Dma);

    /// <summary><c>dma_pool_alloc</c>: a block, or null when memory ran out.</summary>
    public Block? Alloc()
    {
        lock (_lock)
        {
            if (_free.TryPop(out Block block))
            {
                return block;
            }

            PhysAddress cpu = _dma.DmaAllocCoherent(_dev, BlockBytes, out DmaAddress dma);
            if (cpu.Value == 0)
            {
                return null;
            }

            block = new Block(cpu, dma);
            _all.Add(block);
            return block;
        }
    }

    /// <summary><c>dma_pool_free</c>.</summary>
    public void Free(Block block)
    {
        lock (_lock)
        {
            _free.Push(block);
        }
    }

    /// <summary><c>dma_pool_destroy</c>: frees every block's coherent memory.</summary>
    public void Destroy()
    {
        lock (_lock)
        {
            foreach (Block block in _all)
            {
                _dma.DmaFreeCoherent(_dev, BlockBytes, block.Cpu, block.Dma);
            }

            _all.Clear();
            _free.Clear();
        }
    }
}
