#Requires -Version 5.1
<#
    Pester 5 tests of the binding and auto-start provider checks in
    NomadIis.TaskSitePlan.ps1, with stand-ins for the
    Microsoft.Web.Administration sites, bindings and providers.
#>

BeforeAll {
    Import-Module -Name (Join-Path -Path $PSScriptRoot -ChildPath '..\NomadIis.psm1') -Force -DisableNameChecking

    # A stand-in for a ServerManager with one site and its bindings:
    # protocol, bindingInformation and sslFlags, read as MWA offers them.
    function New-FakeServerManager
    {
        param ([System.String] $SiteName, [System.Object[]] $Bindings)
        $siteBindings = foreach ($b in $Bindings)
        {
            $binding = [pscustomobject] @{ Protocol = $b.Protocol; BindingInformation = $b.Information; SslFlags = $b.SslFlags }
            $binding | Add-Member -MemberType ScriptMethod -Name 'GetAttributeValue' -Value { param ($name) if ($name -eq 'sslFlags') { $this.SslFlags } }
            $binding
        }
        return [pscustomobject] @{ Sites = @([pscustomobject] @{ Name = $SiteName; Bindings = @($siteBindings) }) }
    }

    function New-BindingRequest
    {
        param ([System.String] $Protocol, [System.String] $IPAddress, [System.Int32] $Port, [System.String] $Hostname, [System.Boolean] $RequireSni, [System.String] $Thumbprint)
        $request = [pscustomobject] @{ protocol = $Protocol; ipAddress = $IPAddress; port = $Port; hostname = $Hostname; requireSni = $RequireSni }
        if ($Protocol -eq 'https')
        {
            $request | Add-Member -MemberType NoteProperty -Name 'certificateThumbprint' -Value $Thumbprint
        }
        return $request
    }

    $script:CertA = 'A' * 40
    $script:CertB = 'B' * 40
}

AfterAll {
    Remove-Module -Name 'NomadIis' -Force -ErrorAction SilentlyContinue
}

Describe 'Test-IPAddressOverlap' {
    It '<Left> and <Right> overlap: <Expected>' -TestCases @(
        @{ Left = '*'; Right = '10.0.0.5'; Expected = $true }
        @{ Left = '0.0.0.0'; Right = '10.0.0.5'; Expected = $true }
        @{ Left = '10.0.0.5'; Right = '::'; Expected = $true }
        @{ Left = '10.0.0.5'; Right = '10.0.0.5'; Expected = $true }
        @{ Left = '10.0.0.5'; Right = '10.0.0.6'; Expected = $false }
        @{ Left = 'fe80::1'; Right = 'FE80::1'; Expected = $true }
    ) {
        InModuleScope -ModuleName 'NomadIis' -Parameters $_ -ScriptBlock {
            param ($Left, $Right, $Expected)
            Test-IPAddressOverlap -Left $Left -Right $Right | Should -Be $Expected
        }
    }
}

Describe 'ConvertTo-BindingPlan' {
    It 'normalises a binding' {
        InModuleScope -ModuleName 'NomadIis' -ScriptBlock {
            $plan = ConvertTo-BindingPlan -Bindings @([pscustomobject] @{ protocol = 'HTTP'; ipAddress = ''; port = 8080; hostname = 'Shop.Example.com' })
            $plan[0].Protocol | Should -BeExactly 'http'
            $plan[0].IPAddress | Should -BeExactly '*'
            $plan[0].Information | Should -BeExactly '*:8080:shop.example.com'
        }
    }

    It 'refuses http and https on overlapping addresses of one port' {
        InModuleScope -ModuleName 'NomadIis' -ScriptBlock {
            $bindings = @(
                [pscustomobject] @{ protocol = 'http'; ipAddress = '*'; port = 8443 }
                [pscustomobject] @{ protocol = 'https'; ipAddress = '10.0.0.5'; port = 8443; certificateThumbprint = 'A' * 40 }
            )
            { ConvertTo-BindingPlan -Bindings $bindings } |
                Should -Throw -ErrorId 'NomadIis.InvalidArgument' -ExpectedMessage 'bindings: port 8443 is given for both http and https'
        }
    }

    It 'refuses two certificates on one endpoint without SNI' {
        InModuleScope -ModuleName 'NomadIis' -ScriptBlock {
            $bindings = @(
                [pscustomobject] @{ protocol = 'https'; ipAddress = '*'; port = 443; hostname = 'a.example.com'; certificateThumbprint = 'A' * 40 }
                [pscustomobject] @{ protocol = 'https'; ipAddress = '10.0.0.5'; port = 443; hostname = 'b.example.com'; certificateThumbprint = 'B' * 40 }
            )
            { ConvertTo-BindingPlan -Bindings $bindings } |
                Should -Throw -ErrorId 'NomadIis.InvalidArgument' -ExpectedMessage '*shares its TLS endpoint with*'
        }
    }
}

Describe 'Assert-BindingAvailable' {
    It 'raises Conflict for <Case>' -TestCases @(
        @{ Case = 'a second non-SNI https site on *:443'; Existing = @{ Protocol = 'https'; Information = '*:443:a.example.com'; SslFlags = 0 }; Request = @{ Protocol = 'https'; IPAddress = '*'; Port = 443; Hostname = 'b.example.com'; RequireSni = $false }; Message = '*HTTP.sys holds one certificate per IP address and port*' }
        @{ Case = 'non-SNI https on a specific address under *'; Existing = @{ Protocol = 'https'; Information = '*:443:'; SslFlags = 0 }; Request = @{ Protocol = 'https'; IPAddress = '10.0.0.5'; Port = 443; Hostname = 'b.example.com'; RequireSni = $false }; Message = '*one certificate per IP address and port*' }
        @{ Case = 'the same SNI host on another address'; Existing = @{ Protocol = 'https'; Information = '10.0.0.1:443:shop.example.com'; SslFlags = 1 }; Request = @{ Protocol = 'https'; IPAddress = '*'; Port = 443; Hostname = 'shop.example.com'; RequireSni = $true }; Message = '*keys SNI certificates by host name and port*' }
        @{ Case = 'http on * where https listens on an address'; Existing = @{ Protocol = 'https'; Information = '10.0.0.5:8443:'; SslFlags = 0 }; Request = @{ Protocol = 'http'; IPAddress = '*'; Port = 8443; Hostname = ''; RequireSni = $false }; Message = 'port 8443 is used by an https binding*' }
        @{ Case = 'the same binding'; Existing = @{ Protocol = 'http'; Information = '*:80:shop.example.com'; SslFlags = 0 }; Request = @{ Protocol = 'http'; IPAddress = '*'; Port = 80; Hostname = 'shop.example.com'; RequireSni = $false }; Message = 'binding *:80:shop.example.com is used by website*' }
    ) {
        $serverManager = New-FakeServerManager -SiteName 'other' -Bindings @([pscustomobject] $Existing)
        $plan = InModuleScope -ModuleName 'NomadIis' -Parameters @{ Request = (New-BindingRequest @Request -Thumbprint $script:CertB) } -ScriptBlock {
            param ($Request)
            (ConvertTo-BindingPlan -Bindings @($Request))[0]
        }
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ ServerManager = $serverManager; Plan = $plan; Message = $Message } -ScriptBlock {
            param ($ServerManager, $Plan, $Message)
            { Assert-BindingAvailable -ServerManager $ServerManager -Plan $Plan } |
                Should -Throw -ErrorId 'NomadIis.Conflict' -ExpectedMessage $Message
        }
    }

    It 'allows <Case>' -TestCases @(
        @{ Case = 'SNI https next to a non-SNI one on *:443'; Existing = @{ Protocol = 'https'; Information = '*:443:a.example.com'; SslFlags = 0 }; Request = @{ Protocol = 'https'; IPAddress = '*'; Port = 443; Hostname = 'b.example.com'; RequireSni = $true } }
        @{ Case = 'two SNI hosts on *:443'; Existing = @{ Protocol = 'https'; Information = '*:443:a.example.com'; SslFlags = 1 }; Request = @{ Protocol = 'https'; IPAddress = '*'; Port = 443; Hostname = 'b.example.com'; RequireSni = $true } }
        @{ Case = 'http host names sharing a port'; Existing = @{ Protocol = 'http'; Information = '*:80:a.example.com'; SslFlags = 0 }; Request = @{ Protocol = 'http'; IPAddress = '*'; Port = 80; Hostname = 'b.example.com'; RequireSni = $false } }
        @{ Case = 'another port'; Existing = @{ Protocol = 'https'; Information = '*:443:'; SslFlags = 0 }; Request = @{ Protocol = 'https'; IPAddress = '*'; Port = 8443; Hostname = ''; RequireSni = $false } }
    ) {
        $serverManager = New-FakeServerManager -SiteName 'other' -Bindings @([pscustomobject] $Existing)
        $plan = InModuleScope -ModuleName 'NomadIis' -Parameters @{ Request = (New-BindingRequest @Request -Thumbprint $script:CertA) } -ScriptBlock {
            param ($Request)
            (ConvertTo-BindingPlan -Bindings @($Request))[0]
        }
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ ServerManager = $serverManager; Plan = $plan } -ScriptBlock {
            param ($ServerManager, $Plan)
            { Assert-BindingAvailable -ServerManager $ServerManager -Plan $Plan } | Should -Not -Throw
        }
    }
}

Describe 'Get-SslEndpointKey' {
    It 'keys <Information> (sslFlags <SslFlags>) as <Expected>' -TestCases @(
        @{ Information = '*:443:shop.example.com'; SslFlags = 0; Expected = 'ip:0.0.0.0:443' }
        @{ Information = '10.0.0.5:443:'; SslFlags = 0; Expected = 'ip:10.0.0.5:443' }
        @{ Information = '10.0.0.5:443:Shop.Example.com'; SslFlags = 1; Expected = 'sni:shop.example.com:443' }
    ) {
        $serverManager = New-FakeServerManager -SiteName 'x' -Bindings @([pscustomobject] @{ Protocol = 'https'; Information = $Information; SslFlags = $SslFlags })
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ Binding = $serverManager.Sites[0].Bindings[0]; Expected = $Expected } -ScriptBlock {
            param ($Binding, $Expected)
            Get-SslEndpointKey -Binding $Binding | Should -BeExactly $Expected
        }
    }
}

Describe 'Assert-TaskSiteApplicable' {
    BeforeAll {
        # A server manager with no site or pool and one registered auto-start
        # provider, "warmup".
        $section = [pscustomobject] @{}
        $section | Add-Member -MemberType ScriptMethod -Name 'GetCollection' -Value {
            $provider = [pscustomobject] @{ Name = 'warmup'; Type = 'Warmup.Provider, Warmup' }
            $provider | Add-Member -MemberType ScriptMethod -Name 'GetAttributeValue' -Value { param ($name) if ($name -eq 'name') { $this.Name } else { $this.Type } }
            , @($provider)
        }
        $configuration = [pscustomobject] @{ Section = $section }
        $configuration | Add-Member -MemberType ScriptMethod -Name 'GetSection' -Value { param ($path) $this.Section }
        $script:ProviderServerManager = [pscustomobject] @{ Sites = @(); ApplicationPools = @(); Configuration = $configuration }
        $script:ProviderServerManager | Add-Member -MemberType ScriptMethod -Name 'GetApplicationHostConfiguration' -Value { $this.Configuration }
    }

    It 'finds provider <Provider>: <Found>' -TestCases @(
        @{ Provider = 'warmup'; Found = $true }
        @{ Provider = 'Warmup'; Found = $false }
    ) {
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ ServerManager = $script:ProviderServerManager; Provider = $Provider; Found = $Found } -ScriptBlock {
            param ($ServerManager, $Provider, $Found)
            $plan = New-TaskSitePlan -SiteName 'nomad-site' -TargetWebsite '' -DefaultAppPool '' -AppPools @([pscustomobject] @{ name = 'nomad-site' }) `
                -Applications @([pscustomobject] @{ alias = ''; physicalPath = 'C:\sites\shop'; appPool = 'nomad-site'; serviceAutoStartEnabled = $true; serviceAutoStartProvider = $Provider }) `
                -Bindings @() -AutoStartProviders @()
            if ($Found)
            {
                { Assert-TaskSiteApplicable -ServerManager $ServerManager -Plan $plan } | Should -Not -Throw
            }
            else
            {
                { Assert-TaskSiteApplicable -ServerManager $ServerManager -Plan $plan } |
                    Should -Throw -ErrorId 'NomadIis.InvalidArgument' -ExpectedMessage "*provider 'Warmup' is not registered (provider names are case-sensitive)"
            }
        }
    }

    It 'refuses to rewrite the registered provider with another type' {
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ ServerManager = $script:ProviderServerManager } -ScriptBlock {
            param ($ServerManager)
            $plan = New-TaskSitePlan -SiteName 'nomad-site' -TargetWebsite '' -DefaultAppPool '' -AppPools @([pscustomobject] @{ name = 'nomad-site' }) `
                -Applications @([pscustomobject] @{ alias = ''; physicalPath = 'C:\sites\shop'; appPool = 'nomad-site'; serviceAutoStartEnabled = $true; serviceAutoStartProvider = 'warmup' }) `
                -Bindings @() -AutoStartProviders @([pscustomobject] @{ name = 'warmup'; type = 'Task.Warmup, Task' })
            { Assert-TaskSiteApplicable -ServerManager $ServerManager -Plan $plan } |
                Should -Throw -ErrorId 'NomadIis.Conflict' -ExpectedMessage "*provider 'warmup' is registered already with type 'Warmup.Provider, Warmup'*"
        }
    }
}

Describe 'Select-AutoStartProviderToAdd' {
    BeforeAll {
        # An administrator's provider, registered before any task.
        $script:Registered = @([pscustomobject] @{ Name = 'Warmup'; Type = 'Admin.Warmup, Admin' })
    }

    It 'picks [<Expected>] for <Name> of type <Type>' -TestCases @(
        @{ Name = 'Warmup'; Type = 'Admin.Warmup, Admin'; Expected = @() }
        @{ Name = 'warmup'; Type = 'Task.Warmup, Task'; Expected = @('warmup') }
        @{ Name = 'Other'; Type = 'Task.Other, Task'; Expected = @('Other') }
    ) {
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ Registered = $script:Registered; Name = $Name; Type = $Type; Expected = $Expected } -ScriptBlock {
            param ($Registered, $Name, $Type, $Expected)
            $picked = Select-AutoStartProviderToAdd -Registered $Registered -Requested @([pscustomobject] @{ name = $Name; type = $Type })
            ($picked -is [System.String[]]) | Should -BeTrue
            ($picked -join ',') | Should -BeExactly ($Expected -join ',')
        }
    }

    It 'refuses a registered provider with another type as Conflict' {
        InModuleScope -ModuleName 'NomadIis' -Parameters @{ Registered = $script:Registered } -ScriptBlock {
            param ($Registered)
            { Select-AutoStartProviderToAdd -Registered $Registered -Requested @([pscustomobject] @{ name = 'Warmup'; type = 'Task.Warmup, Task' }) } |
                Should -Throw -ErrorId 'NomadIis.Conflict' -ExpectedMessage "autoStartProviders[0]: provider 'Warmup' is registered already with type 'Admin.Warmup, Admin', not 'Task.Warmup, Task'*"
        }
    }

    It 'refuses a provider given twice' {
        InModuleScope -ModuleName 'NomadIis' -ScriptBlock {
            { Select-AutoStartProviderToAdd -Registered @() -Requested @([pscustomobject] @{ name = 'P'; type = 'T' }, [pscustomobject] @{ name = 'P'; type = 'U' }) } |
                Should -Throw -ErrorId 'NomadIis.InvalidArgument' -ExpectedMessage "autoStartProviders[1].name: provider 'P' is given twice"
        }
    }
}
