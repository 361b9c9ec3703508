using System.Net;
using System.Net.Sockets;
using System.Text;
using LlmCostTracker.Tests.Integration;

namespace LlmCostTracker.Tests.Unit;

/// <summary>The tests' receivers (webhooks, OTLP) outlive a request whose sender goes away mid-body, as a service
/// stopped while it posts does. Before, one such request ended the receiver's loop: every later post hung, and a CI
/// run's worker then took 12 s to stop.</summary>
public sealed class LoopbackListenerTests
{
    [Fact]
    public async Task A_request_abandoned_mid_body_fails_alone_and_the_next_is_answered()
    {
        var reading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var listener = new LoopbackListener(async context =>
        {
            reading.TrySetResult();
            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            context.Response.StatusCode = body == "ok" ? 200 : 400;
            context.Response.Close();
        });

        using (var abandoned = new TcpClient())
        {
            await abandoned.ConnectAsync(IPAddress.Loopback, listener.Endpoint.Port);
            var request = $"POST / HTTP/1.1\r\nHost: {listener.Endpoint.Authority}\r\nContent-Length: 100\r\n\r\nten bytes.";
            await abandoned.GetStream().WriteAsync(Encoding.ASCII.GetBytes(request));
            // The body is promised 100 bytes and gets 10: the server is reading it when the connection goes.
            await reading.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }

        await Eventually.ReturnsAsync(() => Task.FromResult(listener.Abandoned), n => n == 1, because: "the abandoned request to fail");
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var answered = await client.PostAsync(listener.Endpoint, new StringContent("ok"));
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
    }
}
