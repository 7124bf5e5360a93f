namespace P2pEmu.Dma.Mapping;

/// <summary>Linux <c>enum dma_data_direction</c>, with its values.</summary>
public enum DmaDirection
{
    Bidirectional = 0,
    ToDevice = 1,
    FromDevice = 2,
    None = 3,
}
