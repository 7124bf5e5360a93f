using System.Collections.Generic;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Addressing;

namespace P2pEmu.Dma.Block;

/// <summary>
/// Linux <c>bio_alloc_cache</c> (a bio set's per-CPU cache of freed bios, <c>BIOSET_PERCPU_CACHE</c>, which polled
/// O_DIRECT allocates from): the bios of one synchronous O_DIRECT call, reset and handed out again by the next, with
/// the call's scratch lists, so a call allocates nothing once the cache has grown to its size.
/// </summary>
/// <remarks>Used by one call at a time (see <see cref="BlockDevice"/>, which keeps one per disk).</remarks>
internal sealed class BioAllocCache
{
    private readonly List<Bio> _bios = new();
    private int _used;

    /// <summary>The pages of a user buffer, as <c>iov_iter_extract_pages</c> returned them.</summary>
    public List<PhysAddress> Pages { get; } = new();

    /// <summary>The buffer as bio_vecs.</summary>
    public List<BioVec> Vecs { get; } = new();

    /// <summary>The tail a full bio hands to the next one.</summary>
    public List<BioVec> Carry { get; } = new();

    /// <summary>Bios handed out since the last <see cref="Clear"/>.</summary>
    public int Count => _used;

    public Bio this[int index] => _bios[index];

    /// <summary><c>bio_alloc_bioset</c> from the cache: a reset bio, or a new one when every cached bio is in use.</summary>
    public Bio Alloc(P2pDmaHost p2p, ReqOp op, ulong sector)
    {
        if (_used < _bios.Count)
        {
            Bio cached = _bios[_used++];
            cached.Reset(op, sector);
            return cached;
        }

        var bio = new Bio(p2p, op, sector);
        _bios.Add(bio);
        _used++;
        return bio;
    }

    /// <summary>
    /// Gives back every bio and empties the scratch lists; false (and the cache must not be used again) when a bio is
    /// still in flight.
    /// </summary>
    public bool Clear()
    {
        for (int i = 0; i < _used; i++)
        {
            if (_bios[i].InFlight)
            {
                return false;
            }

            _bios[i].Reset(ReqOp.Read, 0);
        }

        _used = 0;
        Pages.Clear();
        Vecs.Clear();
        Carry.Clear();
        return true;
    }
}
