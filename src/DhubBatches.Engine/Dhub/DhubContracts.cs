using System.Collections.Generic;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace DhubBatches.Engine.Dhub;

// Wire shapes of the dhub Batches API. Every member is optional: a missing field is null, unknown fields are
// ignored, and the mapper decides what is required.

internal sealed class DhubCreated
{
    [JsonPropertyName("item")]
    public string? Item { get; set; }
}

internal sealed class DhubMessage
{
    [JsonPropertyName("message")]
    public string? Message { get; set; }
}

internal sealed class DhubBatch
{
    [JsonPropertyName("id")]
    public string? Id { get; set; }

    [JsonPropertyName("name")]
    public string? Name { get; set; }

    [JsonPropertyName("deployment")]
    public string? Deployment { get; set; }

    [JsonPropertyName("state")]
    public DhubBatchState? State { get; set; }
}

internal sealed class DhubBatchState
{
    [JsonPropertyName("state")]
    public string? State { get; set; }

    /// <summary>Step name → step, in server order (System.Text.Json fills the dictionary in document order).</summary>
    [JsonPropertyName("steps")]
    public Dictionary<string, DhubStep?>? Steps { get; set; }
}

internal sealed class DhubStep
{
    [JsonPropertyName("state")]
    public string? State { get; set; }

    /// <summary>Partition → offset; kept raw so one value that is not a whole number costs only its partition.</summary>
    [JsonPropertyName("offsets")]
    public Dictionary<string, JsonElement>? Offsets { get; set; }
}

internal sealed class DhubBatchList
{
    /// <summary>
    /// The list quirk: batch id → the batch as a JSON *string*. Kept as raw elements so an object (should the
    /// API ever fix the quirk) is accepted too, and each page is parsed item by item.
    /// </summary>
    [JsonPropertyName("items")]
    public Dictionary<string, JsonElement>? Items { get; set; }

    [JsonPropertyName("token")]
    public string? Token { get; set; }
}

[JsonSourceGenerationOptions(
    PropertyNameCaseInsensitive = false,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(DhubCreated))]
[JsonSerializable(typeof(DhubMessage))]
[JsonSerializable(typeof(DhubBatch))]
[JsonSerializable(typeof(DhubBatchList))]
internal sealed partial class DhubJsonContext : JsonSerializerContext
{
}
