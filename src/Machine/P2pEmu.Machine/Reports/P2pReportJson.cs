using System;
using System.IO;
using System.Text;
using System.Text.Json;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Machine.Reports;

/// <summary>
/// The P2P verdicts as the JSON contract of DESIGN.md: one object with a <c>pairs</c> array (provider,
/// client, mapType, distance, pathDistance, redirectingPorts, hostBridgeAllowed) and, for one provider
/// with clients, <c>distanceMany</c>. <c>--explain</c> adds the common upstream device, the host-bridge
/// reason and the kernel's messages.
/// </summary>
public static class P2pReportJson
{
    public static string Render(Machine machine, P2pReport report, bool explain)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(report);
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartArray("pairs");
            foreach (P2pVerdict v in report.Pairs)
            {
                json.WriteStartObject();
                json.WriteString("provider", v.Provider.Name);
                json.WriteString("client", v.Client.Name);
                json.WriteString("mapType", P2pMatrix.MapTypeName(v.MapType));
                json.WriteNumber("distance", v.Distance);
                json.WriteNumber("pathDistance", v.PathDistance);
                json.WriteStartArray("redirectingPorts");
                foreach (PciFunction d in v.RedirectingDevices)
                {
                    json.WriteStringValue(d.Name);
                }

                json.WriteEndArray();
                json.WriteBoolean("hostBridgeAllowed", v.HostBridgeAllowed);
                if (explain)
                {
                    json.WriteString("commonUpstream", v.CommonUpstream?.Name);
                    json.WriteString("hostBridgeReason", machine.P2pDma.DescribeHostBridgeDecision(v.Provider, v.Client));
                    json.WriteString("explanation", P2pReportText.Explain(machine.P2pDma, v));
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            if (report.DistanceMany is int many)
            {
                json.WriteNumber("distanceMany", many);
            }

            if (explain)
            {
                json.WriteStartArray("kernelLog");
                foreach (string line in report.KernelLog)
                {
                    json.WriteStringValue(line);
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray()) + Environment.NewLine;
    }
}
