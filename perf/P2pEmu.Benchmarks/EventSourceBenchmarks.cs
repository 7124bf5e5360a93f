using System;
using System.Diagnostics.Tracing;
using BenchmarkDotNet.Attributes;
using P2pEmu.Dma.Diagnostics;
using P2pEmu.Drivers.Nvme;
using P2pEmu.Drivers.Rdma;

namespace P2pEmu.Benchmarks;

/// <summary>
/// What an EventSource call site costs on a hot path: with nobody listening it is the <c>IsEnabled</c> check alone
/// (target: within a nanosecond of the empty baseline, 0 B); with an in-process <see cref="EventListener"/> enabled at
/// Verbose, the typed (long, long, long) <c>WriteEvent</c> plus the listener's dispatch, which allocates its
/// <see cref="EventWrittenEventArgs"/> (an EventPipe session, as <c>p2pemu trace</c> opens, has no such dispatch).
/// </summary>
/// <remarks>Not sealed: BenchmarkDotNet derives from benchmark classes.</remarks>
[MemoryDiagnoser]
public class EventSourceBenchmarks : IDisposable
{
    private long _value = 1;
    private Listener? _listener;

    [Params(false, true)]
    public bool Listening { get; set; }

    [GlobalSetup]
    public void Setup() => _listener = Listening ? new Listener() : null;

    [GlobalCleanup]
    public void Dispose()
    {
        _listener?.Dispose();
        _listener = null;
        GC.SuppressFinalize(this);
    }

    /// <summary>The work every call site does anyway: an add.</summary>
    [Benchmark(Baseline = true)]
    public long NoEvent() => _value++;

    [Benchmark]
    public long NvmeCompleteRq()
    {
        NvmeEventSource log = NvmeEventSource.Log;
        if (log.IsEnabled())
        {
            log.CompleteRq(_value, 2, 3);
        }

        return _value++;
    }

    [Benchmark]
    public long NicSendCompletion()
    {
        NicEventSource log = NicEventSource.Log;
        if (log.IsEnabled())
        {
            log.SendCompletion(_value, 2, 3);
        }

        return _value++;
    }

    [Benchmark]
    public long DmaBufMap()
    {
        DmaEventSource log = DmaEventSource.Log;
        if (log.IsEnabled())
        {
            log.DmaBufMap(_value, 2, 3);
        }

        return _value++;
    }

    /// <summary>Enables the three sources at Verbose and drops what they write.</summary>
    private sealed class Listener : EventListener
    {
        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name is "P2pEmu.Nvme" or "P2pEmu.Nic" or "P2pEmu.Dma")
            {
                EnableEvents(eventSource, EventLevel.Verbose, EventKeywords.All);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
        }
    }
}
