using System.Collections.Generic;
using System.Diagnostics.Tracing;
using System.Linq;

namespace P2pEmu.Integration.Tests.Diagnostics;

/// <summary>Records every event of the named EventSources (Verbose, every keyword) while it lives.</summary>
internal sealed class RecordingListener : EventListener
{
    private readonly HashSet<string> _sources;
    private readonly List<EventWrittenEventArgs> _events = new();

    public RecordingListener(params string[] sources)
    {
        _sources = [.. sources];
        foreach (EventSource source in EventSource.GetSources())
        {
            OnEventSourceCreated(source);
        }
    }

    /// <summary>The recorded events of one name whose payload passes <paramref name="match"/> (tests of other classes run alongside).</summary>
    public List<EventWrittenEventArgs> Where(string name, System.Func<long[], bool> match)
    {
        lock (_events)
        {
            return _events.Where(e => e.EventName == name && match([.. e.Payload!.Select(p => (long)p!)])).ToList();
        }
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        // The base constructor calls this before the set exists.
        if (_sources is not null && _sources.Contains(eventSource.Name))
        {
            EnableEvents(eventSource, EventLevel.Verbose, EventKeywords.All);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        lock (_events)
        {
            _events.Add(eventData);
        }
    }
}
