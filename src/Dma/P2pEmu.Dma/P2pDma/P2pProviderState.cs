namespace P2pEmu.Dma.P2pDma;

/// <summary>
/// Where a device's P2PDMA state is in the struct-page provider state machine of spec §1.3:
/// <c>NONE → INIT → POOL → RESOURCE(S) → [PUBLISHED] → TEARDOWN → GONE</c> (<see cref="PciP2pdma.State"/>).
/// </summary>
public enum P2pProviderState
{
    /// <summary>No P2PDMA state (<c>pdev-&gt;p2pdma</c> is NULL): before <c>pcim_p2pdma_init</c>, and again after teardown.</summary>
    None,

    /// <summary><c>pcim_p2pdma_init</c> ran: providers exist, no pool (a naked provider stays here).</summary>
    Init,

    /// <summary>The pool and the sysfs group exist, but no range was added (the first add failed after the pool was set up).</summary>
    Pool,

    /// <summary>At least one range was added (<c>pci_p2pdma_add_resource</c>).</summary>
    Resources,

    /// <summary><c>pci_p2pmem_publish(pdev, true)</c>: findable by <c>pci_p2pmem_find_many</c>.</summary>
    Published,

    /// <summary>Provider removal started and has not finished: mappings zapped, page maps dying or draining.</summary>
    Teardown,

    /// <summary>Removal finished: this state object is detached from the device.</summary>
    Gone,
}
