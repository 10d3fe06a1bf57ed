using System.Collections.Generic;
using System.Text.Json;
using DhubBatches.Contract;

namespace DhubBatches.Engine.Dhub;

/// <summary>
/// dhub wire objects → <see cref="BatchSnapshot"/>. A record without its id or its state object is unreadable; a state
/// value this version does not know is Unknown; an offset that is not a whole number costs only its partition.
/// </summary>
internal static class DhubMapper
{
    public static BatchSnapshot ToSnapshot(string pipelineId, DhubBatch dto, string? expectedId = null)
    {
        var id = dto.Id ?? expectedId;
        if (string.IsNullOrEmpty(id))
        {
            throw new JsonException("the batch has no 'id'");
        }
        if (dto.State == null)
        {
            throw new JsonException("the batch has no 'state'");
        }
        var steps = new List<StepSnapshot>();
        var skipped = new List<string>();
        if (dto.State.Steps != null)
        {
            foreach (var pair in dto.State.Steps)
            {
                var offsets = new List<KeyValuePair<string, long>>();
                if (pair.Value?.Offsets != null)
                {
                    foreach (var offset in pair.Value.Offsets)
                    {
                        if (OffsetValues.WholeNumber(offset.Value) is { } value)
                        {
                            offsets.Add(new KeyValuePair<string, long>(offset.Key, value));
                        }
                        else
                        {
                            skipped.Add(pair.Key + "." + offset.Key + " (" + OffsetValues.WhyNot(offset.Value) + ")");
                        }
                    }
                }
                steps.Add(new StepSnapshot(pair.Key, ParseStepState(pair.Value?.State), offsets));
            }
        }
        return new BatchSnapshot(pipelineId, id!)
        {
            Name = dto.Name,
            Deployment = dto.Deployment,
            State = ParseBatchState(dto.State.State),
            Steps = steps,
            Warnings = skipped.Count == 0 ? new string[0] : new[] { OffsetValues.Warning(pipelineId, id!, skipped) },
        };
    }

    /// <summary>One item of the list quirk: the batch as a JSON string (or, tolerated, as an object). It must name itself.</summary>
    public static BatchSnapshot ItemToSnapshot(string pipelineId, string id, JsonElement item)
    {
        DhubBatch? dto = item.ValueKind switch
        {
            JsonValueKind.String => JsonSerializer.Deserialize(item.GetString()!, DhubJsonContext.Default.DhubBatch),
            JsonValueKind.Object => item.Deserialize(DhubJsonContext.Default.DhubBatch),
            _ => throw new JsonException($"it is {item.ValueKind.ToString().ToLowerInvariant()}, not a batch"),
        };
        if (dto == null)
        {
            throw new JsonException("it is null");
        }
        if (string.IsNullOrEmpty(dto.Id))
        {
            throw new JsonException("the batch has no 'id'");
        }
        return ToSnapshot(pipelineId, dto);
    }

    public static BatchState ParseBatchState(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        "scheduled" => BatchState.Scheduled,
        "pending" => BatchState.Pending,
        "running" => BatchState.Running,
        "stop" => BatchState.Stop,
        _ => BatchState.Unknown,
    };

    public static StepState ParseStepState(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        "none" => StepState.None,
        "pending" => StepState.Pending,
        "running" => StepState.Running,
        "success" => StepState.Success,
        "failed" => StepState.Failed,
        _ => StepState.Unknown,
    };
}
