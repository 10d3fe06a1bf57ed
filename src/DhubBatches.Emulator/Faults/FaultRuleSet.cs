using System.Collections.Generic;
using System.Globalization;

namespace DhubBatches.Emulator.Faults;

/// <summary>Fault rules in insertion order; the first that applies to a request wins.</summary>
internal sealed class FaultRuleSet
{
    private readonly object _lock = new();
    private readonly List<FaultRule> _rules = new();
    private int _nextId;

    public FaultRule Add(FaultRule rule)
    {
        lock (_lock)
        {
            rule.Prepare("fault-" + (++_nextId).ToString(CultureInfo.InvariantCulture));
            _rules.Add(rule);
            return rule;
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            _rules.Clear();
        }
    }

    public IReadOnlyList<FaultRule> Snapshot()
    {
        lock (_lock)
        {
            return _rules.ToArray();
        }
    }

    public FaultRule? Match(string method, string decodedPath, string rawTarget)
    {
        lock (_lock)
        {
            foreach (var rule in _rules)
            {
                if (rule.TryApply(method, decodedPath, rawTarget))
                {
                    return rule;
                }
            }

            return null;
        }
    }
}
