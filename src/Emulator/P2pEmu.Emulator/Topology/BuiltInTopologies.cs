using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;

namespace P2pEmu.Emulator.Topology;

/// <summary>
/// The topology files that ship with P2pEmu, as text. Each is byte-identical to
/// <c>examples/&lt;name&gt;.jsonc</c> in the repository (a test checks it), so a user can copy one and edit it.
/// </summary>
/// <remarks>
/// Generated from <c>examples/*.jsonc</c>: edit the file there, then paste it here between the quotes,
/// indented to the closing quotes.
/// </remarks>
public static class BuiltInTopologies
{
    /// <summary>examples/default.jsonc: The DESIGN.md example grown for RDMA: an Intel host bridge, a root port with ACS RR|CR, a switch with an NVMe drive, a NIC and an accelerator, a second NIC cabled to the first under another root port with a drive under a third, a multi-function RCiEP with VFs, and a second host bridge the allow list does not name with two drives behind an ACS-redirecting switch.</summary>
    private const string DefaultJson = """
        // The example topology of DESIGN.md ("Topology file"): the built-in default (BuiltInTopologies.Default).
        //
        // One Intel host bridge with the IOMMU translating. Root port rp1 redirects peer requests and
        // completions upstream (ACS RR and CR); below it a switch holds an NVMe drive with a 64 MiB Controller
        // Memory Buffer, a NIC with 32 MiB of device memory and an accelerator with 64 MiB of device memory, on
        // three downstream ports. The NIC is cabled ("link") to a second NIC under root port rp2, so RDMA runs
        // between them over an emulated RoCEv2 link; nvme1 under root port rp3 is the drive at that end (the
        // NVMe-oF target's). rciep0 is a root-complex integrated endpoint with a second function and two SR-IOV VFs.
        //
        // A second host bridge, hb1 (root bus 0x80), is a Broadwell-EP root complex, which the kernel's host-bridge
        // allow list does not name: below its root port a switch with ACS redirect (RR, CR) on both downstream ports
        // holds nvme2 and nvme3. Their P2P must go through the host bridge, and the allow list refuses it, so Linux
        // says NOT_SUPPORTED for the pair; P2P between the two host bridges is refused as well (Skylake-E is allowed
        // only within one host bridge).
        {
          "platform": {
            "cpu": { "vendor": "intel", "family": 6 },   // AMD family >= 0x17 allows host-bridge P2P (Linux rule)
            "kernel": "6.19"                              // or "revoke-2026"
          },
          "hostBridges": [
            {
              "name": "hb0",
              "segment": 0, "bus": 0,                     // PCI domain and root bus number
              "iommu": "translate",                       // "off" | "passthrough" | "translate"
              "rootComplexP2p": true,                     // hardware: can the root complex forward between root ports
              "devices": [                                // functions on the root bus, in kernel list order
                { "name": "hostdev", "kind": "host-bridge", "slot": "00.0", "vendorId": "0x8086", "deviceId": "0x2020" },
                { "name": "rp1", "kind": "root-port", "slot": "01.0", "acs": { "ctrl": ["RR", "CR"] },
                  "children": [
                    { "name": "sw0", "kind": "switch",
                      "upstream": { "name": "sw0.up" },
                      "ports": [
                        { "name": "sw0.dp0", "acs": { "ctrl": [] },
                          "children": [ { "name": "nvme0", "kind": "nvme", "cmb": { "size": "64MiB" },
                                          "namespaces": [ { "size": "1GiB" } ] } ] },
                        { "name": "sw0.dp1",
                          "children": [ { "name": "nic0", "kind": "nic", "memory": "32MiB", "link": "nic1" } ] },
                        { "name": "sw0.dp2",
                          "children": [ { "name": "accel0", "kind": "accel", "memory": "64MiB" } ] }
                      ] }
                  ] },
                { "name": "rp2", "kind": "root-port", "slot": "02.0",
                  "children": [ { "name": "nic1", "kind": "nic", "memory": "32MiB" } ] },
                { "name": "rp3", "kind": "root-port", "slot": "03.0",
                  "children": [ { "name": "nvme1", "kind": "nvme", "cmb": { "size": "64MiB" },
                                  "namespaces": [ { "size": "1GiB" } ] } ] },
                { "name": "rciep0", "kind": "endpoint", "slot": "04.0",
                  "bars": [ { "index": 0, "size": "16MiB", "prefetchable": true } ],
                  "functions": [ { "name": "rciep0.f1", "kind": "endpoint", "slot": "04.1" } ],
                  "vfs": 2 }                               // SR-IOV VFs, named "<pf>.vf1", "<pf>.vf2", ...
              ]
            },
            {
              "name": "hb1",
              "segment": 0, "bus": "0x80",
              "iommu": "translate",
              "rootComplexP2p": true,
              "devices": [
                { "name": "hostdev1", "kind": "host-bridge", "slot": "00.0", "vendorId": "0x8086", "deviceId": "0x6f00" },
                { "name": "rp4", "kind": "root-port", "slot": "01.0",
                  "children": [
                    { "name": "sw1", "kind": "switch",
                      "upstream": { "name": "sw1.up" },
                      "ports": [
                        { "name": "sw1.dp0", "acs": { "ctrl": ["RR", "CR"] },
                          "children": [ { "name": "nvme2", "kind": "nvme", "cmb": { "size": "16MiB" },
                                          "namespaces": [ { "size": "64MiB" } ] } ] },
                        { "name": "sw1.dp1", "acs": { "ctrl": ["RR", "CR"] },
                          "children": [ { "name": "nvme3", "kind": "nvme", "cmb": { "size": "16MiB" },
                                          "namespaces": [ { "size": "64MiB" } ] } ] }
                      ] }
                  ] }
              ]
            }
          ]
        }
        """;

    /// <summary>examples/switch-acs.jsonc: A switch with ACS RR|CR on both downstream ports (NVMe and NIC below them); IOMMU translating.</summary>
    private const string SwitchAcsJson = """
        // A switch whose downstream ports redirect peer traffic: ACS RR and CR on both, as Linux sets them
        // when an IOMMU asks for isolation.
        //
        // nvme0 and nic0 share switch sw0, so without ACS their peer traffic would turn around inside the
        // switch. With RR and CR on the downstream ports it is redirected up to the root complex, where the
        // IOMMU translates it. Linux's verdict for nvme0 <-> nic0 is THRU_HOST_BRIDGE: the path redirects, and
        // the root-bus host bridge 8086:2020 (Skylake-E) is on the P2PDMA allow list.
        {
          "platform": {
            "cpu": { "vendor": "intel", "family": 6 },
            "kernel": "6.19",
          },
          "hostBridges": [
            {
              "name": "hb0",
              "iommu": "translate",
              "rootComplexP2p": true,
              "devices": [
                { "name": "hostdev", "kind": "host-bridge", "slot": "00.0", "vendorId": "0x8086", "deviceId": "0x2020" },
                { "name": "rp0", "kind": "root-port", "slot": "01.0",
                  "children": [
                    { "name": "sw0", "kind": "switch",
                      "upstream": { "name": "sw0.up" },
                      "ports": [
                        { "name": "sw0.dp0", "acs": { "ctrl": ["RR", "CR"] },
                          "children": [
                            { "name": "nvme0", "kind": "nvme", "cmb": { "size": "64MiB" },
                              "namespaces": [ { "size": "1GiB" } ] },
                          ] },
                        { "name": "sw0.dp1", "acs": { "ctrl": ["RR", "CR"] },
                          "children": [
                            { "name": "nic0", "kind": "nic", "memory": "32MiB" },
                          ] },
                      ] },
                  ] },
              ],
            },
          ],
        }

        """;

    /// <summary>examples/two-root-ports.jsonc: Two endpoints on two root ports of a root complex that cannot forward between them.</summary>
    private const string TwoRootPortsJson = """
        // Two endpoints on two root ports of a root complex that cannot forward between root ports.
        //
        // The endpoints share no upstream bridge, so Linux would need the host bridge to pass peer traffic. The
        // root-bus host bridge 8086:29c0 (Q35) is not on the P2PDMA allow list and the CPU is Intel, so the
        // kernel's verdict is NOT_SUPPORTED; the hardware agrees (rootComplexP2p false).
        {
          "platform": {
            "cpu": { "vendor": "intel", "family": 6 },
            "kernel": "6.19",
          },
          "hostBridges": [
            {
              "name": "hb0",
              "iommu": "off",
              "rootComplexP2p": false,
              "devices": [
                { "name": "hostdev", "kind": "host-bridge", "slot": "00.0", "vendorId": "0x8086", "deviceId": "0x29c0" },
                { "name": "rp0", "kind": "root-port", "slot": "01.0",
                  "children": [
                    { "name": "ep0", "kind": "endpoint",
                      "bars": [ { "index": 0, "size": "16MiB", "prefetchable": true } ] },
                  ] },
                { "name": "rp1", "kind": "root-port", "slot": "02.0",
                  "children": [
                    { "name": "ep1", "kind": "endpoint",
                      "bars": [ { "index": 0, "size": "16MiB", "prefetchable": true } ] },
                  ] },
              ],
            },
          ],
        }

        """;

    /// <summary>examples/amd-multi-hb.jsonc: An AMD family 0x19 machine with two host bridges.</summary>
    private const string AmdMultiHbJson = """
        // An AMD Zen 3 machine (family 0x19) with two host bridges, an NVMe drive below one and an accelerator
        // below the other.
        //
        // The devices share no upstream bridge, not even a host bridge, but Linux allows host-bridge P2P on AMD
        // CPUs of family 0x17 and later, so its verdict for nvme0 <-> gpu0 is THRU_HOST_BRIDGE. Both root
        // complexes forward peer traffic (rootComplexP2p), translated by the IOMMU.
        {
          "platform": {
            "cpu": { "vendor": "amd", "family": "0x19" },
            "kernel": "6.19",
            "ram": "2GiB",
          },
          "hostBridges": [
            {
              "name": "hb0",
              "segment": 0, "bus": "0x00",
              "iommu": "translate",
              "rootComplexP2p": true,
              "devices": [
                { "name": "hostdev0", "kind": "host-bridge", "slot": "00.0", "vendorId": "0x1022", "deviceId": "0x1480" },
                { "name": "rp0", "kind": "root-port", "slot": "01.0", "vendorId": "0x1022", "deviceId": "0x1483",
                  "children": [
                    { "name": "nvme0", "kind": "nvme", "cmb": { "size": "32MiB" },
                      "namespaces": [ { "size": "512MiB" } ] },
                  ] },
              ],
            },
            {
              "name": "hb1",
              "segment": 0, "bus": "0x80",
              "iommu": "translate",
              "rootComplexP2p": true,
              "devices": [
                { "name": "hostdev1", "kind": "host-bridge", "slot": "00.0", "vendorId": "0x1022", "deviceId": "0x1480" },
                { "name": "rp1", "kind": "root-port", "slot": "01.0", "vendorId": "0x1022", "deviceId": "0x1483",
                  "children": [
                    { "name": "gpu0", "kind": "accelerator", "memory": "256MiB" },
                  ] },
              ],
            },
          ],
        }

        """;

    private static readonly string[] s_names = ["default", "switch-acs", "two-root-ports", "amd-multi-hb"];

    private static readonly string[] s_texts = [DefaultJson, SwitchAcsJson, TwoRootPortsJson, AmdMultiHbJson];

    /// <summary>The built-in default topology (examples/default.jsonc), the DESIGN.md example.</summary>
    public static string Default => DefaultJson;

    /// <summary>The built-in topology names, <c>"default"</c> first; each is also <c>examples/&lt;name&gt;.jsonc</c>.</summary>
    public static IReadOnlyList<string> Names => s_names;

    /// <summary>The text of the built-in topology called <paramref name="name"/> (case-insensitive).</summary>
    /// <param name="name">One of <see cref="Names"/>.</param>
    /// <returns>The topology file's text.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    /// <exception cref="ArgumentException">No built-in topology has that name; the message lists the names.</exception>
    public static string Get(string name) =>
        TryGet(name, out string? json)
            ? json
            : throw new ArgumentException(
                $"no built-in topology '{name}'; the built-in topologies are {string.Join(", ", s_names)}",
                nameof(name));

    /// <summary>Looks up a built-in topology by name (case-insensitive).</summary>
    /// <param name="name">The name to look up.</param>
    /// <param name="json">The topology file's text, or null when there is no such built-in topology.</param>
    /// <returns>Whether a built-in topology has that name.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    public static bool TryGet(string name, [NotNullWhen(true)] out string? json)
    {
        ArgumentNullException.ThrowIfNull(name);
        for (int i = 0; i < s_names.Length; i++)
        {
            if (string.Equals(s_names[i], name, StringComparison.OrdinalIgnoreCase))
            {
                json = s_texts[i];
                return true;
            }
        }

        json = null;
        return false;
    }
}
