using System.Diagnostics;

namespace LlmCostTracker.CostDashboard.Components;

/// <summary>A page's live refresh runs inside its circuit, whose activity (the long-lived Blazor connection) would
/// otherwise parent every API call the page makes while it stays open: one trace of hundreds of spans. Each refresh
/// is its own short trace instead.</summary>
public static class RefreshTrace
{
    private static readonly ActivitySource Source = new("LlmCostTracker.CostDashboard");

    /// <summary>Detaches the calling async flow from the circuit's activity (the change stays in that flow).</summary>
    public static void LeaveCircuit() => Activity.Current = null;

    /// <summary>The root span of one refresh of <paramref name="page"/>.</summary>
    public static Activity? Start(string page) => Source.StartActivity($"refresh {page}", ActivityKind.Internal, parentContext: default);
}
