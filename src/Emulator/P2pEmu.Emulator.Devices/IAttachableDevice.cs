using System;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Emulator.Devices;

/// <summary>A device model that a model factory creates while the fabric is described, and attaches once it is built.</summary>
internal interface IAttachableDevice : IDisposable
{
    /// <summary>Connects the device to its function in the built fabric (its DMA port, its engine, its MSI-X table).</summary>
    void Attach(PcieFabric fabric, PciEndpoint function);

    /// <summary>Stops the device's engine after the work in progress; later doorbells are ignored.</summary>
    void Stop();
}
