using System.Text.Json;

namespace LlmCostTracker.Ledger;

/// <summary>What reading a stored entry (a rollup stream entry, a tag delta) throws when the entry is not one this
/// version wrote (added by hand, or by a version that wrote another form): such an entry is set aside, to a rejected
/// stream or list, instead of failing its bucket's every round. Anything else (a Redis error, a bug's
/// NullReferenceException) is not the entry's fault and goes on up.</summary>
public static class UnreadableEntry
{
    public static bool Is(Exception ex) =>
        ex is JsonException or FormatException or InvalidDataException or InvalidOperationException or KeyNotFoundException
            or IndexOutOfRangeException or ArgumentException or InvalidCastException or OverflowException;

    /// <summary>A text the entry must hold. A JSON null (in an entry no ledger call wrote) is refused as unreadable
    /// (<paramref name="what"/> names it), so the entry is set aside instead of landing under an empty key part or
    /// against a NOT NULL column every round.</summary>
    public static string Text(JsonElement text, string what) =>
        text.GetString() ?? throw new FormatException($"{what} is null where a text belongs.");
}
