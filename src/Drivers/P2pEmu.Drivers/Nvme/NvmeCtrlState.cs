namespace P2pEmu.Drivers.Nvme;

/// <summary>Linux <c>enum nvme_ctrl_state</c>, the states this driver uses.</summary>
public enum NvmeCtrlState
{
    /// <summary><c>NVME_CTRL_NEW</c>: being probed.</summary>
    New,

    /// <summary><c>NVME_CTRL_LIVE</c>: enabled, queues created, namespaces scanned.</summary>
    Live,

    /// <summary><c>NVME_CTRL_DELETING</c>: being removed.</summary>
    Deleting,

    /// <summary><c>NVME_CTRL_DEAD</c>: failed (CSTS.CFS, or gone); every request fails.</summary>
    Dead,

    /// <summary>Removed: queues deleted, controller shut down, memory freed.</summary>
    Deleted,
}
