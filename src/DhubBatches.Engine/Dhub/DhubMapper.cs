using System;
using System.Collections.Generic;
using System.Text.Json;

namespace DhubBatches.Engine.Dhub;

/// <summary>dhub wire objects → <see cref="Batch"/>. Unknown states become Unknown; a batch without an id is invalid.</summary>
internal static class DhubMapper
{
    public static Batch ToBatch(string pipelineId, DhubBatch dto, string? expectedId = null)
    {
        var id = dto.Id ?? expectedId;
        if (string.IsNullOrEmpty(id))
        {
            throw new JsonException("a batch has no 'id'");
        }
        var batch = new Batch(pipelineId, id!, BackendKind.Dhub)
        {
            Name = dto.Name,
            Deployment = dto.Deployment,
            State = ParseBatchState(dto.State?.State),
        };
        var steps = new List<BatchStep>();
        if (dto.State?.Steps != null)
        {
            foreach (var pair in dto.State.Steps)
            {
                var offsets = new OffsetMap();
                if (pair.Value?.Offsets != null)
                {
                    foreach (var offset in pair.Value.Offsets)
                    {
                        offsets[offset.Key] = offset.Value;
                    }
                }
                steps.Add(new BatchStep(pipelineId, id!, pair.Key, ParseStepState(pair.Value?.State), offsets));
            }
        }
        batch.Steps = new BatchStepList(steps);
        return batch;
    }

    /// <summary>One item of the list quirk: the batch as a JSON string (or, tolerated, as an object).</summary>
    public static Batch ItemToBatch(string pipelineId, string id, JsonElement item)
    {
        DhubBatch? dto = item.ValueKind switch
        {
            JsonValueKind.String => JsonSerializer.Deserialize(item.GetString()!, DhubJsonContext.Default.DhubBatch),
            JsonValueKind.Object => item.Deserialize(DhubJsonContext.Default.DhubBatch),
            _ => throw new JsonException($"list item '{id}' is {item.ValueKind}, not a batch"),
        };
        if (dto == null)
        {
            throw new JsonException($"list item '{id}' is null");
        }
        return ToBatch(pipelineId, dto, id);
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
