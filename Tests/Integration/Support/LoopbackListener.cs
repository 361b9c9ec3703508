using System.Net;
using System.Net.Sockets;

namespace LlmCostTracker.Tests.Integration;

/// <summary>An <see cref="HttpListener"/> on a free loopback port, for the receivers the services send to
/// (<see cref="OtlpCollector"/>, <see cref="WebhookReceiver"/>).</summary>
public static class LoopbackListener
{
    public static HttpListener Start(out Uri endpoint)
    {
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            endpoint = new Uri($"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}/");
        }

        var listener = new HttpListener();
        listener.Prefixes.Add(endpoint.ToString());
        listener.Start();
        return listener;
    }
}
