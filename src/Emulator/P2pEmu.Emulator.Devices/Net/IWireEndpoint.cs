namespace P2pEmu.Emulator.Devices.Net;

/// <summary>One end of an <see cref="EthernetLink"/>: a NIC port that frames arrive at.</summary>
public interface IWireEndpoint
{
    /// <summary>
    /// Takes one frame from the link. Called on the transmitter's thread, inside its
    /// <see cref="EthernetLink.Transmit"/>; the frame's spans are valid only until this returns.
    /// </summary>
    /// <param name="frame">The frame, possibly gathered from the sender's header buffer and DMA source.</param>
    void Receive(in WireFrame frame);
}
