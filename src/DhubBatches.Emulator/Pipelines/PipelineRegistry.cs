using System;
using System.Collections.Generic;

namespace DhubBatches.Emulator.Pipelines;

/// <summary>
/// The pipelines both backends know (a dhub pipeline and a Prefect deployment <c>run-pipeline/&lt;pipeline&gt;</c>),
/// in registration order, each with an optional step duration of its own.
/// </summary>
internal sealed class PipelineRegistry
{
    private readonly object _lock = new();
    private readonly List<string> _names = new();
    private readonly Dictionary<string, TimeSpan?> _steps = new(StringComparer.Ordinal);

    public void Clear()
    {
        lock (_lock)
        {
            _names.Clear();
            _steps.Clear();
        }
    }

    /// <summary>Adds a pipeline (or updates its step duration override); true when it was new.</summary>
    public bool Add(string pipeline, TimeSpan? stepDuration)
    {
        lock (_lock)
        {
            var added = !_steps.ContainsKey(pipeline);
            if (added)
            {
                _names.Add(pipeline);
                _steps[pipeline] = null;
            }

            if (stepDuration is not null)
            {
                _steps[pipeline] = stepDuration;
            }

            return added;
        }
    }

    public bool IsKnown(string pipeline)
    {
        lock (_lock)
        {
            return _steps.ContainsKey(pipeline);
        }
    }

    /// <summary>The pipeline's own step duration, or null when it uses the emulator's.</summary>
    public TimeSpan? StepOf(string pipeline)
    {
        lock (_lock)
        {
            return _steps.TryGetValue(pipeline, out var step) ? step : null;
        }
    }

    public IReadOnlyList<string> Names
    {
        get
        {
            lock (_lock)
            {
                return _names.ToArray();
            }
        }
    }
}
